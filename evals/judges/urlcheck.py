"""Which addresses Quorum's workers may call (judge endpoints, alert webhooks).

``address_refusal`` is the one rule, used both when a URL is saved or a run starts
(``check_outbound_url``) and on every connection (``evals.judges.outbound``):

- globally routable addresses are allowed;
- private (RFC 1918, IPv6 unique local), loopback and shared (CGNAT, 100.64.0.0/10)
  addresses only when an admin allows private networks for that endpoint;
- link-local and cloud metadata addresses never, even then; nor multicast, unspecified,
  reserved, documentation, benchmarking or any other address that is not globally routable;
- an IPv6 form that reaches an IPv4 address (IPv4-mapped ``::ffff:10.0.0.1``, NAT64
  ``64:ff9b::/96``) is judged as that IPv4 address; 6to4 (2002::/16) and Teredo
  (2001::/32) tunnel addresses are refused.

Every address a name resolves to is checked, not just the first.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}
# Allowed only with the admin's "allow private networks".
PRIVATE_NETWORKS = [
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT, some cluster networks)
        "127.0.0.0/8",
        "::1/128",
        "fc00::/7",  # IPv6 unique local
    )
]
NAT64 = ipaddress.ip_network("64:ff9b::/96")
TUNNELS = [ipaddress.ip_network("2002::/16"), ipaddress.ip_network("2001::/32")]

PRIVATE_REASON = (
    "a private address, allowed only where an admin allows private networks (a judge "
    "endpoint's own setting; QUORUM_WEBHOOK_ALLOW_PRIVATE for alert webhooks)"
)


class UnsafeURL(ValueError):
    """The URL may not be called; the message says why."""


def _reached_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 address sends packets to."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnel_refusal(address: ipaddress.IPv6Address) -> str:
    embedded = [address.sixtofour] if address.sixtofour else list(address.teredo or ())
    for inner in embedded:
        if inner is not None and address_refusal(inner, allow_private=False):
            return f"a tunnel address that embeds {inner}, which is not public"
    return "a 6to4 or Teredo tunnel address, which cannot be called"


def address_refusal(address: IPAddress, *, allow_private: bool) -> str:
    """Why Quorum may not connect to ``address``, or "" when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        reached = _reached_ipv4(address)
        if reached is not None:
            reason = address_refusal(reached, allow_private=allow_private)
            return f"which reaches {reached}, {reason}" if reason else ""
        if any(address in tunnel for tunnel in TUNNELS):
            return _tunnel_refusal(address)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address, never allowed"
    if address.is_link_local:
        return "a link-local address, never allowed"
    if address.is_multicast or address.is_unspecified:
        return "a multicast or unspecified address, which cannot be called"
    if any(address in network for network in PRIVATE_NETWORKS):
        return "" if allow_private else PRIVATE_REASON
    if not address.is_global or address.is_reserved:
        return "not a globally routable address, which cannot be called"
    return ""


def resolve(host: str) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself), in order."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"The host {host!r} could not be resolved.") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def checked_addresses(host: str, *, allow_private: bool) -> list[IPAddress]:
    """Resolve ``host`` once and return its addresses if every one may be called, else
    raise UnsafeURL. Connect only to what this returned."""
    host = host.lower().rstrip(".")
    if host in METADATA_HOSTS:
        raise UnsafeURL("Cloud metadata addresses are never allowed.")
    addresses = resolve(host)
    for address in addresses:
        reason = address_refusal(address, allow_private=allow_private)
        if reason:
            raise UnsafeURL(f"{host} resolves to {address}, {reason}.")
    if not addresses:
        raise UnsafeURL(f"The host {host!r} could not be resolved.")
    return addresses


def check_outbound_url(url: str, *, allow_private: bool = False) -> str:
    """Return ``url`` if Quorum may call it, else raise UnsafeURL with the reason."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"}:
        raise UnsafeURL("Only http:// and https:// URLs are allowed.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL(
            "The URL may not hold credentials (a judge's key goes in its API key field)."
        )
    checked_addresses(parts.hostname, allow_private=allow_private)
    return url.strip()
