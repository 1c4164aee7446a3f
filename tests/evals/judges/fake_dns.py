"""A stand-in for socket.getaddrinfo that answers one test host name from a script.

``FakeDNS("judge.quorum.test", "93.184.216.34", "127.0.0.1")`` answers the first lookup
of that name with 93.184.216.34 and every later one with 127.0.0.1 (a DNS rebinding
attack); other names resolve as usual. ``lookups`` counts the lookups of the test name.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

HOST = "judge.quorum.test"


class FakeDNS:
    def __init__(self, host: str, *answers: str) -> None:
        self.host = host
        self.answers = answers
        self.lookups = 0
        self.real = socket.getaddrinfo

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
        monkeypatch.setattr(socket, "getaddrinfo", self)
        return self

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list:
        if host != self.host:
            return self.real(host, port, *args, **kwargs)
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        number = int(port or 0)
        if ipaddress.ip_address(answer).version == 6:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (answer, number, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, number))]
