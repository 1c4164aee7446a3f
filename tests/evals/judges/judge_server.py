"""A scripted OpenAI-compatible chat completions server on 127.0.0.1, for judge tests.

Each request takes the next step from the script (or, when the script is empty, the
``default`` step or ``responder(body)``). A step is a dict:

- ``{"answers": {...}}``: a valid completion whose content is that JSON
- ``{"content": "text"}`` / ``{"refusal": "text"}`` / ``{"finish": "length"}``
- ``{"status": 401, "error": "..."}`` (any status; ``retry_after`` adds the header)
- ``{"status": 307, "location": "/elsewhere"}``: a redirect
- ``{"sleep": 1.5, ...}``: wait before answering (for timeouts)
- ``{"drop": True}``: close the connection without an answer

Every request, POST or GET, is recorded (method, path, headers, JSON body) so tests
count them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Step = dict[str, Any]


def completion(content: str | None, *, refusal: str | None = None, finish: str = "stop") -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "judge-test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish,
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


class ScriptedServer:
    def __init__(self) -> None:
        self.steps: deque[Step] = deque()
        self.default: Step = {"status": 500, "error": "script is empty"}
        self.responder: Callable[[dict], Step] | None = None
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {}
                with server.lock:
                    server.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                        }
                    )
                    step = server.steps.popleft() if server.steps else None
                if step is None:
                    step = server.responder(body) if server.responder else server.default
                server._answer(self, step)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ScriptedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, *steps: Step) -> None:
        self.steps.extend(steps)

    @property
    def count(self) -> int:
        return len(self.requests)

    def _answer(self, handler: BaseHTTPRequestHandler, step: Step) -> None:
        if step.get("sleep"):
            time.sleep(step["sleep"])
        if step.get("drop"):
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        status = int(step.get("status", 200))
        if status != 200:
            payload: dict = {"error": {"message": step.get("error", "error"), "type": "test"}}
        elif "answers" in step:
            payload = completion(json.dumps(step["answers"]))
        else:
            payload = completion(
                step.get("content"),
                refusal=step.get("refusal"),
                finish=step.get("finish", "stop"),
            )
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            if "retry_after" in step:
                handler.send_header("Retry-After", str(step["retry_after"]))
            if "location" in step:
                handler.send_header("Location", step["location"])
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
