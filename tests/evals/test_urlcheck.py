import pytest

from evals.urlcheck import UnsafeURL, check_outbound_url


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
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


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "http://10.1.2.3/", "http://[::1]/"])
def test_private_addresses_need_explicit_permission(url):
    with pytest.raises(UnsafeURL, match="private"):
        check_outbound_url(url)
    assert check_outbound_url(url, allow_private=True) == url


def test_a_public_address_is_allowed():
    assert check_outbound_url("https://8.8.8.8/v1") == "https://8.8.8.8/v1"
