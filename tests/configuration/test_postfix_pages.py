"""The Configuration menu for Postfix, through the pages as an administrator uses them, proven by what the
running Postfix does (EHLO's SIZE, postconf), not by the console's own tables."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from configuration.models import ConfigChange
from mailadmin import postfix
from mailadmin.configfiles import store
from tests.configuration.conftest import ehlo_size

pytestmark = pytest.mark.django_db

HOSTILE = ["1\n2", "4096\\", " 4096", "4096 #x", "$(id)", "${x}", "9" * 10_240]


def _token(response: Any) -> str:
    match = re.search(r'name="token" value="([0-9a-f]{32})"', response.content.decode())
    assert match, response.content.decode()[:3000]
    return match.group(1)


def _propose_and_apply(client: Client, url: str, data: dict[str, str]) -> Any:
    response = client.post(url, data)
    assert response.status_code == 200, response.content.decode()[:3000]
    return client.post(url + "apply/", {"token": _token(response)})


def test_size_limit_change_is_seen_in_ehlo_and_can_be_restored(
    personas: Any, login: Any, stack: Any, postfix_restored: Any
) -> None:
    client = login(personas.admin)
    port = int(os.environ["SMTP_PORT"])
    old = ehlo_size(port)
    page = client.get("/configuration/postfix/")
    assert page.status_code == 200
    assert "message_size_limit" in page.content.decode()

    confirm = client.post("/configuration/postfix/", {"v-message_size_limit": "31457280"})
    body = confirm.content.decode()
    assert confirm.status_code == 200
    assert "+message_size_limit = 31457280" in body  # the diff
    assert old in body  # the running value in the three-way table
    # nothing is written before the confirmation
    assert ehlo_size(port) == old

    done = client.post("/configuration/postfix/apply/", {"token": _token(confirm)})
    assert done.status_code == 302
    assert ehlo_size(port) == "31457280"
    assert postfix.postconf_h(postfix_restored.etc, "message_size_limit") == "31457280"
    row = ConfigChange.objects.filter(service="postfix").first()
    assert row is not None and row.applied and "SIZE 31457280" in row.smoke
    assert row.actor == personas.admin.uid
    # the stack's own renderer (its next start) writes the same file from the stored values
    assert postfix_restored.render(store.values(stack.layout.menu, "postfix"))["main.cf"] == (
        postfix_restored.config_path("main.cf").read_text(encoding="utf-8")
    )
    # a used confirmation cannot be replayed
    again = client.post("/configuration/postfix/apply/", {"token": _token(confirm)})
    assert again.status_code == 302 and ehlo_size(port) == "31457280"

    history = client.get("/configuration/postfix/history/")
    assert history.status_code == 200 and "message_size_limit" in history.content.decode()
    restore = client.post("/configuration/postfix/restore/", {"version": str(row.base_version)})
    assert restore.status_code == 200
    client.post("/configuration/postfix/apply/", {"token": _token(restore)})
    assert ehlo_size(port) == old


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_change_nothing(
    personas: Any, login: Any, stack: Any, postfix_restored: Any, value: str
) -> None:
    client = login(personas.admin)
    main_cf = postfix_restored.config_path("main.cf").read_bytes()
    before = store.load(stack.layout.menu, "postfix")
    response = client.post(
        "/configuration/postfix/", {"v-message_size_limit": value, "v-no_such_parameter": "1"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "no_such_parameter" in body and "is not a parameter" in body
    assert postfix_restored.config_path("main.cf").read_bytes() == main_cf
    assert store.load(stack.layout.menu, "postfix") == before
    assert list((stack.layout.menu / "staging").glob("*")) == []


def test_path_outside_the_allowed_directories_is_refused(
    personas: Any, login: Any, postfix_restored: Any
) -> None:
    client = login(personas.admin)
    response = client.post("/configuration/postfix/", {"v-smtpd_tls_cert_file": "/root/.ssh/id_rsa"})
    assert response.status_code == 400
    assert "must be a file or directory under" in response.content.decode()


def test_daemon_refusal_is_shown_and_nothing_changes(
    personas: Any, login: Any, stack: Any, postfix_restored: Any
) -> None:
    """A value the registry lets through ($name is allowed in the banner) but Postfix refuses: its own words
    on the page, the running file untouched, the staging directory empty."""
    client = login(personas.admin)
    main_cf = postfix_restored.config_path("main.cf").read_bytes()
    response = client.post(
        "/configuration/postfix/", {"v-smtpd_banner": "$myhostname ESMTP $no_such_parameter_anywhere"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The daemon refused the new file" in body and "no_such_parameter_anywhere" in body
    assert postfix_restored.config_path("main.cf").read_bytes() == main_cf
    assert list((stack.layout.menu / "staging").glob("*")) == []


def test_hand_edit_is_shown_and_can_be_adopted(
    personas: Any, login: Any, stack: Any, postfix_restored: Any
) -> None:
    client = login(personas.admin)
    port = int(os.environ["SMTP_PORT"])
    path: Path = postfix_restored.config_path("main.cf")
    text = path.read_text(encoding="utf-8")
    edited = re.sub(r"^message_size_limit = .*$", "message_size_limit = 12345678", text, flags=re.M)
    path.write_text(edited, encoding="utf-8")
    page = client.get("/configuration/postfix/")
    assert "Edited outside the console" in page.content.decode()
    assert "+message_size_limit = 12345678" in page.content.decode()
    confirm = client.post("/configuration/postfix/hand-edit/", {"action": "adopt"})
    assert confirm.status_code == 200, confirm.content.decode()[:3000]
    client.post("/configuration/postfix/apply/", {"token": _token(confirm)})
    assert store.values(stack.layout.menu, "postfix").get("message_size_limit") == "12345678"
    assert ehlo_size(port) == "12345678"
    assert "Edited outside the console" not in client.get("/configuration/postfix/").content.decode()


def test_hand_edit_can_be_overwritten(personas: Any, login: Any, stack: Any, postfix_restored: Any) -> None:
    client = login(personas.admin)
    path: Path = postfix_restored.config_path("main.cf")
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "# a note somebody left\n", encoding="utf-8")
    confirm = client.post("/configuration/postfix/hand-edit/", {"action": "overwrite"})
    assert confirm.status_code == 200
    assert "-# a note somebody left" in confirm.content.decode()
    client.post("/configuration/postfix/apply/", {"token": _token(confirm)})
    assert path.read_text(encoding="utf-8") == text


URLS = [
    ("get", "/configuration/"),
    ("get", "/configuration/help/?q=size"),
    ("get", "/configuration/postfix/"),
    ("post", "/configuration/postfix/"),
    ("post", "/configuration/postfix/apply/"),
    ("get", "/configuration/postfix/history/"),
    ("post", "/configuration/postfix/restore/"),
    ("post", "/configuration/postfix/hand-edit/"),
]


@pytest.mark.parametrize("who", ["domain_admin_a", "group_admin", "user"])
def test_only_administrators_see_the_menu(personas: Any, login: Any, stack: Any, who: str) -> None:
    client = login(getattr(personas, who))
    before = store.load(stack.layout.menu, "postfix")
    for method, url in URLS:
        data = {"v-message_size_limit": "2048000", "version": "0", "action": "overwrite", "token": "0" * 32}
        response = client.get(url) if method == "get" else client.post(url, data)
        assert response.status_code == 404, (who, url)
    assert store.load(stack.layout.menu, "postfix") == before


def test_help_browser_finds_parameters_of_every_service(personas: Any, login: Any) -> None:
    client = login(personas.admin)
    response = client.get("/configuration/help/", {"q": "message size"})
    assert response.status_code == 200
    assert "message_size_limit" in response.content.decode()
    assert "/configuration/postfix/#p-message_size_limit" in response.content.decode()


def test_a_refused_value_is_explained_in_german(personas: Any, login: Any, postfix_restored: Any) -> None:
    client = login(personas.admin)
    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    response = client.post("/configuration/postfix/", {"v-message_size_limit": "zwölf"})
    assert response.status_code == 400
    assert "muss eine ganze Zahl" in response.content.decode()
