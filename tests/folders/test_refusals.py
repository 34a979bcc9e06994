"""Every Mail Folders page is for administrators only: the other personas get 404 and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from tests.folders.conftest import acl_of, all_public, folder_name

pytestmark = pytest.mark.django_db
REFUSED = ["domain_admin_a", "domain_admin_b", "group_admin", "user"]


@pytest.mark.parametrize("key", REFUSED)
def test_other_personas_get_404_and_nothing_changes(
    admin_client: Client, personas: object, login: Callable[[object], Client], key: str
) -> None:
    name = folder_name("Keep")
    assert admin_client.post("/folders/create/", {"name": name, "folder_type": "mail"}).status_code == 302
    before_folders, before_acl = all_public(), acl_of(name)
    client = login(getattr(personas, key))
    user_dn = personas.user.dn  # type: ignore[attr-defined]
    for url in (
        "/folders/",
        "/folders/create/",
        "/folders/permissions/",
        "/folders/permissions/?" + urlencode({"folder": name}),
        "/folders/rename/?" + urlencode({"folder": name}),
        "/folders/delete/?" + urlencode({"folder": name}),
        "/folders/user/?" + urlencode({"dn": user_dn}),
    ):
        assert client.get(url).status_code == 404, url
    posts = [
        ("/folders/create/", {"name": folder_name("Nope"), "folder_type": "mail"}),
        ("/folders/rename/", {"folder": name, "name": "Renamed"}),
        ("/folders/delete/", {"folder": name}),
        ("/folders/permissions/", {"folder": name, "who": "ursula", "preset": "all", "set": "1"}),
        ("/folders/permissions/", {"folder": name, "remove": "anyone"}),
        (
            "/folders/permissions/",
            {"user": user_dn, "folder": "INBOX", "who": "gary", "preset": "all", "set": "1"},
        ),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    assert all_public() == before_folders
    assert acl_of(name) == before_acl
