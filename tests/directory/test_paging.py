"""Big lists: paged + sorted pages, VLV windows and counts, as a non-root account (size limit 500)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings

from mailadmin import directory
from mailadmin.directory import DirectoryPageExpired, DirectorySizeLimit, dit

N = 620  # more than slapd's size limit (500) for accounts other than the rootDN and the daemons
READER_PASSWORD = "Reader-pass-1"


@pytest.fixture(scope="module")
def big(stack: object) -> Iterator[str]:
    """An organization with N accounts whose cn order is the reverse of their creation order."""
    name = f"big{uuid.uuid4().hex[:8]}.test"
    directory.add(dit.domain_dn(name), {"objectClass": ["domain", "mailDomain"], "dc": name})
    org = dit.organization_dn(name, name)
    directory.add(org, {"objectClass": ["organization", "mailContainer"], "o": name})
    prefix = uuid.uuid4().hex[:6]
    for i in range(N):
        uid = f"p{prefix}{i:04d}"
        directory.add(
            dit.account_dn(org, uid),
            {
                "objectClass": ["inetOrgPerson", "mailAccount"],
                "uid": uid,
                "cn": f"Person {N - i:04d}",
                "sn": "P",
            },
        )
    yield org
    directory.delete_subtree(dit.domain_dn(name))


@pytest.fixture(scope="module")
def reader(big: str) -> str:
    """A plain account (not the rootDN): slapd's size limit of 500 applies to it."""
    uid = f"reader{uuid.uuid4().hex[:6]}"
    dn = dit.account_dn(dit.parent_dn(big), uid)  # beside the organization, so it is not counted in it
    directory.add(dn, {"objectClass": ["inetOrgPerson"], "uid": uid, "cn": uid, "sn": uid})
    directory.password_modify(dn, READER_PASSWORD)
    return dn


@pytest.fixture
def as_reader(settings: Settings, reader: str) -> str:
    settings.LDAP_ADMIN_DN = reader
    settings.LDAP_ADMIN_PASSWORD = READER_PASSWORD
    return reader


PEOPLE = "(objectClass=mailAccount)"
EXPECTED = [f"Person {n:04d}" for n in range(1, N + 1)]


def test_plain_search_stops_at_the_size_limit(big: str, as_reader: str) -> None:
    with pytest.raises(DirectorySizeLimit, match="too many"):
        directory.search(big, PEOPLE, ["cn"])


def test_paged_sorted_search_returns_everything_in_order(big: str, as_reader: str) -> None:
    seen: list[str] = []
    cookie = None
    pages = 0
    while True:
        page = directory.search_page(big, PEOPLE, ["cn"], page_size=250, cookie=cookie, sort=("cn",))
        assert page.sorted
        seen += [e.first("cn") for e in page.entries]
        pages += 1
        if page.cookie is None:
            break
        cookie = page.cookie
    assert pages == 3
    assert seen == EXPECTED


def test_first_page_reports_an_estimate_and_reverse_order(big: str, as_reader: str) -> None:
    page = directory.search_page(big, PEOPLE, ["cn"], page_size=10, sort=("-cn",))
    assert [e.first("cn") for e in page.entries] == EXPECTED[::-1][:10]
    assert page.total_estimate is not None and page.total_estimate >= N - 10


def test_iter_paged_and_count(big: str, as_reader: str) -> None:
    assert sum(1 for _ in directory.iter_paged(big, PEOPLE, directory.NO_ATTRS, page_size=100)) == N
    assert [e.first("cn") for e in directory.iter_paged(big, PEOPLE, ["cn"], sort=("cn",))] == EXPECTED
    assert directory.count(big, PEOPLE) == N


def test_iter_paged_closed_early_leaves_no_state(big: str, as_reader: str) -> None:
    for _ in range(20):  # more than sssvlv's 16 sort states per connection
        it = directory.iter_paged(big, PEOPLE, ["cn"], page_size=10, sort=("cn",))
        assert next(it).first("cn") == EXPECTED[0]
        it.close()
    assert directory.count(big, PEOPLE) == N


def test_search_window_is_a_stateless_slice(big: str, as_reader: str) -> None:
    for offset in (0, 250, N - 5):
        window = directory.search_window(big, PEOPLE, ["cn"], offset=offset, count=20, sort=("cn",))
        assert window.total == N and window.sorted
        assert [e.first("cn") for e in window.entries] == EXPECTED[offset : offset + 20]
    beyond = directory.search_window(big, PEOPLE, ["cn"], offset=N + 10, count=20)
    assert beyond.entries == [] and beyond.total == N


def test_many_windows_on_one_thread_do_not_exhaust_sort_slots(big: str, as_reader: str) -> None:
    # slapd keeps VLV state per connection (16 at most); the gateway recycles its connection before that.
    for i in range(40):
        window = directory.search_window(big, PEOPLE, ["cn"], offset=i, count=5)
        assert window.entries[0].first("cn") == EXPECTED[i]


def test_abandoned_sorted_pages_do_not_exhaust_sort_slots(big: str, as_reader: str) -> None:
    for _ in range(40):
        page = directory.search_page(big, PEOPLE, ["cn"], page_size=5)
        assert page.cookie is not None and page.sorted


def test_cookie_from_another_connection_has_expired(big: str, as_reader: str) -> None:
    page = directory.search_page(big, PEOPLE, ["cn"], page_size=5)
    errors: list[Exception] = []

    def other_thread() -> None:
        try:
            directory.search_page(big, PEOPLE, ["cn"], page_size=5, cookie=page.cookie)
        except Exception as exc:  # noqa: BLE001 - handed back to the test thread
            errors.append(exc)
        finally:
            directory.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], DirectoryPageExpired)
    assert "first page" in str(errors[0])


def test_page_size_bounds(big: str) -> None:
    with pytest.raises(ValueError, match="page_size"):
        directory.search_page(big, PEOPLE, ["cn"], page_size=0)
    with pytest.raises(ValueError, match="page_size"):
        directory.search_page(big, PEOPLE, ["cn"], page_size=100_000)
