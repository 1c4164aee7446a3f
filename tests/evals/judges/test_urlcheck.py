import ipaddress

import pytest

from evals.judges.urlcheck import UnsafeURL, address_refusal, check_outbound_url
from tests.evals.judges.fake_dns import HOST

OK = ""
PRIVATE = "private address"
NEVER_LINK = "link-local"
NEVER_METADATA = "metadata"
NEVER_MULTI = "multicast or unspecified"
NEVER_ROUTE = "not a globally routable"

# (address, without the admin's "allow private networks", with it): "" means allowed,
# else a piece of the reason.
ADDRESSES = [
    # globally routable
    ("8.8.8.8", OK, OK),
    ("93.184.216.34", OK, OK),
    ("2606:4700:4700::1111", OK, OK),
    # private, loopback, shared address space (CGNAT), IPv6 unique local: only with the flag
    ("10.0.0.1", PRIVATE, OK),
    ("172.16.5.4", PRIVATE, OK),
    ("192.168.1.10", PRIVATE, OK),
    ("127.0.0.1", PRIVATE, OK),
    ("127.8.9.10", PRIVATE, OK),
    ("100.64.0.1", PRIVATE, OK),
    ("100.127.255.254", PRIVATE, OK),
    ("::1", PRIVATE, OK),
    ("fd12:3456::1", PRIVATE, OK),
    # link-local and cloud metadata: never (metadata hides inside CGNAT and ULA ranges)
    ("169.254.169.254", NEVER_METADATA, NEVER_METADATA),
    ("100.100.100.200", NEVER_METADATA, NEVER_METADATA),
    ("fd00:ec2::254", NEVER_METADATA, NEVER_METADATA),
    ("169.254.1.1", NEVER_LINK, NEVER_LINK),
    ("fe80::1", NEVER_LINK, NEVER_LINK),
    # multicast, unspecified: never
    ("224.0.0.1", NEVER_MULTI, NEVER_MULTI),
    ("239.1.2.3", NEVER_MULTI, NEVER_MULTI),
    ("ff02::1", NEVER_MULTI, NEVER_MULTI),
    ("0.0.0.0", NEVER_MULTI, NEVER_MULTI),
    ("::", NEVER_MULTI, NEVER_MULTI),
    # reserved, broadcast, "this network", documentation, benchmarking, IETF: never
    ("240.0.0.1", NEVER_ROUTE, NEVER_ROUTE),
    ("255.255.255.255", NEVER_ROUTE, NEVER_ROUTE),
    ("0.1.2.3", NEVER_ROUTE, NEVER_ROUTE),
    ("192.0.2.1", NEVER_ROUTE, NEVER_ROUTE),
    ("198.51.100.7", NEVER_ROUTE, NEVER_ROUTE),
    ("203.0.113.9", NEVER_ROUTE, NEVER_ROUTE),
    ("198.18.0.1", NEVER_ROUTE, NEVER_ROUTE),
    ("192.0.0.1", NEVER_ROUTE, NEVER_ROUTE),
    ("2001:db8::1", NEVER_ROUTE, NEVER_ROUTE),
    ("100::1", NEVER_ROUTE, NEVER_ROUTE),
    ("::a00:1", NEVER_ROUTE, NEVER_ROUTE),  # IPv4-compatible (deprecated)
    # IPv4-mapped and NAT64 forms are judged as the IPv4 address they reach
    ("::ffff:8.8.8.8", OK, OK),
    ("::ffff:10.0.0.1", PRIVATE, OK),
    ("::ffff:127.0.0.1", PRIVATE, OK),
    ("::ffff:100.64.0.1", PRIVATE, OK),
    ("::ffff:169.254.169.254", NEVER_METADATA, NEVER_METADATA),
    ("64:ff9b::808:808", OK, OK),
    ("64:ff9b::a00:1", PRIVATE, OK),
    ("64:ff9b::a9fe:a9fe", NEVER_METADATA, NEVER_METADATA),
    # 6to4 and Teredo tunnels: never; the reason names a private address they embed
    ("2002:a00:1::", "embeds 10.0.0.1", "embeds 10.0.0.1"),
    ("2002:a9fe:a9fe::1", "embeds 169.254.169.254", "embeds 169.254.169.254"),
    ("2002:808:808::1", "tunnel", "tunnel"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "embeds 10.0.0.1", "embeds 10.0.0.1"),
]


@pytest.mark.parametrize(("address", "without_flag", "with_flag"), ADDRESSES)
def test_each_address_class_is_allowed_or_refused_as_the_rules_say(
    address, without_flag, with_flag
):
    ip = ipaddress.ip_address(address)
    for allow_private, expected in ((False, without_flag), (True, with_flag)):
        reason = address_refusal(ip, allow_private=allow_private)
        if expected == OK:
            assert reason == "", f"{address} (allow_private={allow_private}) refused: {reason}"
        else:
            assert expected in reason, f"{address} (allow_private={allow_private}): {reason!r}"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "http://user:pw@example.org/",
        "http:///nohost",
        "http://0.0.0.0/",
    ],
)
def test_it_always_refuses_dangerous_urls(url):
    with pytest.raises(UnsafeURL):
        check_outbound_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/v1",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://100.64.1.2/v1",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_private_addresses_need_explicit_permission(url):
    with pytest.raises(UnsafeURL, match="private"):
        check_outbound_url(url)
    assert check_outbound_url(url, allow_private=True) == url


def test_a_public_address_is_allowed():
    assert check_outbound_url("https://8.8.8.8/v1") == "https://8.8.8.8/v1"


def test_every_address_a_name_resolves_to_is_checked(monkeypatch):
    def lookup(host, port, *args, **kwargs):
        return [
            (2, 1, 6, "", ("93.184.216.34", 0)),
            (2, 1, 6, "", ("10.0.0.7", 0)),
        ]

    monkeypatch.setattr("socket.getaddrinfo", lookup)
    with pytest.raises(UnsafeURL, match="resolves to 10.0.0.7, a private address"):
        check_outbound_url(f"https://{HOST}/v1")


def test_the_refusals_name_what_allows_private_networks_for_judges_and_for_webhooks():
    with pytest.raises(UnsafeURL) as refused:
        check_outbound_url("http://10.0.0.7/hook")
    assert "QUORUM_WEBHOOK_ALLOW_PRIVATE" in str(refused.value)
    assert "judge endpoint's own setting" in str(refused.value)
    with pytest.raises(UnsafeURL, match="may not hold credentials"):
        check_outbound_url("https://user:pw@example.org/hook")
