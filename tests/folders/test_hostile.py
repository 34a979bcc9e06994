"""Hostile names, identifiers and rights are refused with a message, and nothing reaches Cyrus.

Two proofs: through the pages, Cyrus's own state (LIST, GETACL as its admin) is the same before and after;
through the services, a tripwire in place of the IMAP connection shows that no session is even opened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from folders import selectors, services
from mailadmin import imap
from mailadmin.directory import InvalidName
from tests.folders.conftest import ACTOR, Company, acl_of, all_public, folder_name

pytestmark = pytest.mark.django_db

HOSTILE = [
    'a"b',
    "x\r\nA1 DELETE user/alice",
    "..",
    "%",
    "*",
    "a" * 1000,
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#lead",
    "trail ",
    "nul\x00x",
    '"><img src=x onerror=alert(1)>',
    "a/../b",
    "user/ursula",
    "INBOX",
]
BAD_WHO = [h for h in HOSTILE if h not in ("INBOX",)] + [
    "anonymous",
    "group:x\r\ny",
    'group:a"b',
    "group:é=x",
    # the earlier DN form is never written any more, and near-uuids are no uuids
    "group:o=a.test,dc=a.test,ou=domains,dc=mailadmin",
    "group:12345678-1234-1234-1234-1234567890ab)(x",
    "group:12345678-1234-1234-1234-1234567890AB",
    "group:12345678-1234-1234-1234-1234567890a",
]
BAD_RIGHTS = ["lrs\r\nA1 DELETE user/alice", "lrs ", "LRS", "lrsz", "(lrs)", "lrs\x00", "c", "l" * 30]


@pytest.fixture
def folder(admin_client: Client) -> str:
    name = folder_name("Target")
    response = admin_client.post("/folders/create/", {"name": name, "folder_type": "mail"})
    assert response.status_code == 302
    return name


@pytest.fixture
def tripwire(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_imap(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("an IMAP connection was opened")

    imap.drop_pooled_sessions()
    monkeypatch.setattr(imap, "_open", no_imap)


def _escaped(html: str) -> None:
    assert "<img src=x" not in html  # echoed back escaped, never as markup


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_folder_names_are_refused_on_create(admin_client: Client, bad: str) -> None:
    before = all_public()
    response = admin_client.post("/folders/create/", {"name": bad, "folder_type": "mail"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="alert"' in html
    _escaped(html)
    response = admin_client.post(
        "/folders/create/", {"parent": bad, "name": "ok_name", "folder_type": "mail"}
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert all_public() == before


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_names_are_refused_on_rename_and_never_found(
    admin_client: Client, folder: str, bad: str
) -> None:
    response = admin_client.post("/folders/rename/", {"folder": folder, "name": bad})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    _escaped(response.content.decode())
    for url in ("/folders/rename/", "/folders/delete/", "/folders/permissions/"):
        assert admin_client.get(url + "?" + urlencode({"folder": bad})).status_code == 404
    assert admin_client.post("/folders/delete/", {"folder": bad}).status_code == 404
    assert folder in all_public()


@pytest.mark.parametrize("bad", BAD_WHO)
def test_hostile_identifiers_are_refused(admin_client: Client, folder: str, bad: str) -> None:
    before = acl_of(folder)
    for fields in ({"who": bad}, {"group": bad}):
        response = admin_client.post(
            "/folders/permissions/", {"folder": folder, "preset": "read", "set": "1", **fields}
        )
        assert response.status_code == 200
        assert 'role="alert"' in response.content.decode()
        _escaped(response.content.decode())
    response = admin_client.post("/folders/permissions/", {"folder": folder, "remove": bad})
    assert response.status_code == 302
    assert acl_of(folder) == before


def test_hostile_rights_in_the_form_are_refused(admin_client: Client, folder: str) -> None:
    before = acl_of(folder)
    for rights in (["z"], ["l\r\n"], ["lrs"], ["a", "x\r\nA1 DELETE user/alice"]):
        response = admin_client.post(
            "/folders/permissions/", {"folder": folder, "who": "ursula", "rights": rights, "set": "1"}
        )
        assert response.status_code == 200
    response = admin_client.post(
        "/folders/permissions/", {"folder": folder, "who": "ursula", "preset": "root", "set": "1"}
    )
    assert response.status_code == 200
    assert acl_of(folder) == before


def test_anyone_is_refused_on_a_domains_folder(admin_client: Client, company: Callable[[], Company]) -> None:
    firm = company()
    name = folder_name("Own")
    response = admin_client.post(
        "/folders/create/", {"domain": firm.domain, "name": name, "folder_type": "mail"}
    )
    assert response.status_code == 302
    target = f"{firm.domain}/{name}"
    before = acl_of(target)
    response = admin_client.post(
        "/folders/permissions/", {"folder": target, "who": "anyone", "preset": "read", "set": "1"}
    )
    assert response.status_code == 200
    assert "anyone" in response.content.decode() and 'role="alert"' in response.content.decode()
    assert acl_of(target) == before
    assert "anyone" not in before


@pytest.mark.usefixtures("tripwire")
@pytest.mark.parametrize("bad", HOSTILE)
def test_services_refuse_before_any_imap_session(bad: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: services.folder_create(actor=ACTOR, parent="", name=bad, folder_type="mail"),
        lambda: services.folder_create(actor=ACTOR, parent=bad, name="ok", folder_type="mail"),
        lambda: services.folder_rename(actor=ACTOR, folder="Fine", new_name=bad),
        lambda: services.folder_rename(actor=ACTOR, folder=bad, new_name="Fine"),
        lambda: services.folder_delete(actor=ACTOR, folder=bad),
        lambda: services.folder_acl_set(actor=ACTOR, folder="Fine", who=bad, rights="lrs"),
        lambda: services.folder_acl_set(actor=ACTOR, folder=bad, who="ursula", rights="lrs"),
        lambda: services.folder_acl_remove(actor=ACTOR, folder="Fine", who=bad),
        lambda: selectors.folder_page(parent=bad),
    ]
    for call in calls:
        with pytest.raises(InvalidName):
            call()


@pytest.mark.usefixtures("tripwire")
@pytest.mark.parametrize("rights", BAD_RIGHTS)
def test_bad_rights_are_refused_before_any_imap_session(rights: str) -> None:
    with pytest.raises(InvalidName):
        services.folder_acl_set(actor=ACTOR, folder="Fine", who="ursula", rights=rights)


@pytest.mark.usefixtures("tripwire")
def test_folder_types_and_domain_anyone_are_refused_before_any_imap_session() -> None:
    with pytest.raises(InvalidName):
        services.folder_create(actor=ACTOR, parent="", name="Fine", folder_type="x\r\nA1 DELETE user/alice")
    with pytest.raises(InvalidName):
        services.folder_acl_set(actor=ACTOR, folder="a.test/Team", who="anyone", rights="lrs")
    with pytest.raises(InvalidName):
        services.folder_acl_set(actor=ACTOR, folder="Fine", who="cyrus", rights="")
