"""Connection handling against a second, private slapd: reconnect after a restart, unavailability, no sort.

The session stack cannot be restarted under the other tests, and it has sssvlv; `plain_slapd` is a real slapd
without it, which this module may stop and start at will.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from mailadmin import directory
from mailadmin.directory import DirectoryUnavailable, dit
from tests.directory.plain_slapd import BASE, DevSlapd


@pytest.fixture(scope="module")
def plain() -> Iterator[DevSlapd]:
    slapd = DevSlapd(sssvlv=False)
    slapd.start()
    yield slapd
    directory.close_all()
    slapd.remove()


@pytest.fixture
def on_plain(plain: DevSlapd, settings: Settings) -> DevSlapd:
    for key, value in plain.env().items():
        setattr(settings, key, value)
    settings.LDAP_TIMEOUT = 3
    if plain.pid is None:
        plain.launch()
    return plain


@pytest.fixture(scope="module")
def people(plain: DevSlapd) -> str:
    """30 accounts in a container of the plain slapd, cn order the reverse of creation order."""
    from django.test import override_settings

    with override_settings(**plain.env()):
        org = f"o=plain.test,dc=plain.test,ou=domains,{BASE}"
        directory.add(
            f"dc=plain.test,ou=domains,{BASE}", {"objectClass": ["domain", "mailDomain"], "dc": "plain.test"}
        )
        directory.add(org, {"objectClass": ["organization", "mailContainer"], "o": "plain.test"})
        for i in range(30):
            directory.add(
                f"uid=q{i:02d},{org}",
                {
                    "objectClass": ["inetOrgPerson", "mailAccount"],
                    "uid": f"q{i:02d}",
                    "cn": f"Q {30 - i:02d}",
                    "sn": "q",
                },
            )
    return org


def test_without_sssvlv_pages_come_unsorted_and_complete(
    on_plain: DevSlapd, people: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mailadmin.directory.search")
    seen: list[str] = []
    cookie = None
    while True:
        page = directory.search_page(people, "(uid=*)", ["cn"], page_size=7, cookie=cookie, sort=("cn",))
        assert not page.sorted
        seen += [e.first("cn") for e in page.entries]
        if page.cookie is None:
            break
        cookie = page.cookie
    assert sorted(seen) == [f"Q {n:02d}" for n in range(1, 31)]
    window = directory.search_window(people, "(uid=*)", ["cn"], offset=10, count=5)
    assert (window.total, len(window.entries), window.sorted) == (30, 5, False)
    assert [e.first("cn") for e in directory.iter_paged(people, "(uid=*)", ["cn"], sort=("cn",))] == seen
    assert "sssvlv" in caplog.text


def test_reconnects_after_the_server_restarted(on_plain: DevSlapd) -> None:
    dn = f"dc=plain.test,ou=domains,{BASE}"
    assert directory.get_entry(dn) is not None  # the pooled connection is open now
    on_plain.stop()
    on_plain.launch()
    # The pooled connection died with the old server; the gateway reconnects once and goes on.
    assert directory.get_entry(dn) is not None


def test_unavailable_is_a_temporary_error(on_plain: DevSlapd) -> None:
    on_plain.stop()
    try:
        with pytest.raises(DirectoryUnavailable, match="cannot be reached") as info:
            directory.get_entry(f"ou=domains,{BASE}")
        assert info.value.permanent is False
        with pytest.raises(DirectoryUnavailable):
            directory.bind_as(f"uid=x,ou=admins,{BASE}", "pw")
    finally:
        on_plain.launch()
    assert directory.get_entry(f"ou=domains,{BASE}") is not None


def test_wrong_console_credentials_are_a_permanent_error(on_plain: DevSlapd, settings: Settings) -> None:
    settings.LDAP_ADMIN_PASSWORD = "not-the-password"
    with pytest.raises(DirectoryUnavailable, match="LDAP_ADMIN_PASSWORD") as info:
        directory.get_entry(f"ou=domains,{BASE}")
    assert info.value.permanent is True
    assert "not-the-password" not in str(info.value)


@pytest.mark.fault
def test_fault_silent_server_times_out(settings: Settings) -> None:
    """A listener that accepts and never answers (a real server cannot be made to hang on demand)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        settings.LDAP_URI = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        settings.LDAP_TIMEOUT = 1
        settings.LDAP_ADMIN_PASSWORD = f"pw-{uuid.uuid4().hex}"
        start = time.monotonic()
        with pytest.raises(DirectoryUnavailable) as info:
            directory.get_entry(dit.domains_dn())
        assert time.monotonic() - start < 8
        assert info.value.permanent is False
