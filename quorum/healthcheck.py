"""Container health check: ``python -m quorum.healthcheck`` exits 0 when /healthz answers ok.

It does not import Django (it runs every 30 s). The request carries a ``Host`` that
``ALLOWED_HOSTS`` accepts, so Django does not refuse it, and plain HTTP is fine because
``/healthz`` is exempt from the HTTPS redirect.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def allowed_host(value: str) -> str:
    """The first concrete host in an ALLOWED_HOSTS value ("localhost" if there is none)."""
    for host in (part.strip() for part in value.split(",")):
        if host and host != "*":
            return host.lstrip(".")
    return "localhost"


def check(url: str, host: str, timeout: float = 4.0) -> bool:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def main() -> int:
    url = os.environ.get("HEALTHCHECK_URL", "http://127.0.0.1:8000/healthz")
    host = allowed_host(os.environ.get("ALLOWED_HOSTS", ""))
    healthy = check(url, host)
    print("healthy" if healthy else f"unhealthy: {url} (Host: {host})")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
