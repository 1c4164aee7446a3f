"""HTTP clients for the URLs admins configure: judge endpoints and alert webhooks.

Each new connection resolves the host once, checks every address it got with
``urlcheck.address_refusal`` and connects to one of those addresses, never to the
name again: a name that answers differently a moment later (DNS rebinding) cannot
send the connection elsewhere. The request keeps the URL's host name, so the Host
header, TLS SNI and the certificate check all use it.

Redirects are never followed: a redirect could point at an address the check refuses,
and a judge's would carry its API key to wherever it points. ``redirect_message``
words the error. Proxies from the environment are not used (the proxy, not Quorum,
would choose the address).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore2
import httpx2

from evals.judges.urlcheck import checked_addresses


class PinnedBackend(httpcore2.SyncBackend):
    """Opens TCP connections only to addresses ``checked_addresses`` allowed for the host."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        addresses = checked_addresses(host, allow_private=self.allow_private)
        failure: Exception | None = None
        for address in addresses:
            try:
                # A numeric address: the socket layer parses it, no second DNS lookup.
                return super().connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # checked_addresses never returns an empty list
        raise failure


class PinnedTransport(httpx2.HTTPTransport):
    """httpx2's transport, with a connection pool that connects through PinnedBackend."""

    def __init__(self, *, allow_private: bool, limits: httpx2.Limits | None = None) -> None:
        limits = limits or httpx2.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(limits=limits)
        if not isinstance(getattr(self, "_pool", None), httpcore2.ConnectionPool):
            # httpx2 keeps its pool elsewhere now: fail loudly rather than connect unpinned.
            raise RuntimeError("httpx2.HTTPTransport no longer has a _pool to replace.")
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(allow_private=allow_private),
        )


def pinned_client(*, allow_private: bool, timeout: float) -> httpx2.Client:
    """An httpx2 client that checks and pins every connection and never follows a redirect."""
    return httpx2.Client(
        transport=PinnedTransport(allow_private=allow_private),
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
    )


def redirect_message(response: httpx2.Response, what: str) -> str:
    """The error for a redirect answered by ``what`` ("the judge endpoint", "the webhook")."""
    location = response.headers.get("location", "")[:200] or "nowhere"
    return (
        f"{what} answered a redirect ({response.status_code} to {location}); Quorum does "
        "not follow redirects: give the final URL."
    )
