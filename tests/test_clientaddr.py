"""The client address the throttle and the audit log see: X-Forwarded-For only through trusted proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from mailadmin.clientaddr import client_address

TRUSTED = ["127.0.0.1", "10.0.0.0/8", "2001:db8::/32"]


def _addr(remote: str, forwarded: str | None = None) -> str:
    request = RequestFactory().get("/")
    request.META["REMOTE_ADDR"] = remote
    if forwarded is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(request)


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert _addr("192.0.2.1", "203.0.113.9") == "192.0.2.1"


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "1.1.1.1, 203.0.113.9", "203.0.113.9"),  # the client's own left part is not believed
        ("127.0.0.1", "203.0.113.9, 10.0.0.5", "203.0.113.9"),  # a chain of trusted proxies is skipped
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "garbage", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.9, garbage, 10.0.0.5", "10.0.0.5"),  # stop at what no proxy wrote
        ("127.0.0.1", "[2001:db9::1]:443", "2001:db9::1"),
        ("127.0.0.1", "203.0.113.9:51234", "203.0.113.9"),
        ("::ffff:127.0.0.1", "::ffff:203.0.113.9", "203.0.113.9"),  # IPv4-mapped addresses
        ("192.0.2.1", "203.0.113.9", "192.0.2.1"),  # not from a trusted proxy: header ignored
        ("2001:db8::2", "2001:db9::7", "2001:db9::7"),
        ("not-an-ip", "203.0.113.9", ""),
    ],
)
def test_trusted_proxies(remote: str, forwarded: str, client: str) -> None:
    with override_settings(TRUSTED_PROXIES=TRUSTED):
        assert _addr(remote, forwarded) == client


def test_a_malformed_setting_stops_the_start() -> None:
    from mailadmin import settings as project_settings

    with pytest.raises(ValueError, match="MAILADMIN_TRUSTED_PROXIES"):
        project_settings._proxies(["10.0.0.0/8", "not a network"])
