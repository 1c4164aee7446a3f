"""Checks on URLs that Quorum's workers will call (judge endpoints, alert webhooks).

A URL is refused when its host resolves to a link-local or cloud-metadata address
(the usual SSRF targets), to a multicast/unspecified/reserved address, or, unless
the admin explicitly allows private networks, to a private or loopback address.
Every address the name resolves to is checked, not just the first.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("100.100.100.200"),
}


class UnsafeURL(ValueError):
    """The URL may not be called; the message says why."""


def resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeURL(f"The host {host!r} could not be resolved.") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_outbound_url(url: str, *, allow_private: bool = False) -> str:
    """Return ``url`` if Quorum may call it, else raise UnsafeURL with the reason."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"}:
        raise UnsafeURL("Only http:// and https:// URLs are allowed.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Put credentials in the API key field, not in the URL.")
    host = parts.hostname.lower().rstrip(".")
    if host in METADATA_HOSTS:
        raise UnsafeURL("Cloud metadata addresses are never allowed.")
    for address in resolve(host):
        if address in METADATA_ADDRESSES or address.is_link_local:
            raise UnsafeURL(f"{host} resolves to {address}, a link-local or metadata address.")
        if (address.is_private or address.is_loopback) and not allow_private:
            raise UnsafeURL(
                f"{host} resolves to {address}, a private address: an admin must allow "
                "private networks for this endpoint."
            )
        if (
            address.is_multicast
            or address.is_unspecified
            or (address.is_reserved and not address.is_loopback)
        ):
            raise UnsafeURL(f"{host} resolves to {address}, which cannot be called.")
    return url.strip()
