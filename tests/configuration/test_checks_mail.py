"""CFG-02 header and body checks, added through the pages and proven with real mail: a REJECT rule makes
Postfix refuse the message at the end of DATA with our text, HOLD puts it into the hold queue (seen on the
queue page and by postqueue), "Test this line" says so before anything is applied, and restoring the
previous version from the history takes the rule away again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from configuration.models import ConfigChange
from tests.configuration.checks_tool import BASE, add_rule, apply, propose_rule, send, token
from tests.conftest import Personas
from tests.mailqueue import queuetool as q

pytestmark = pytest.mark.django_db

TEXT = "5.7.1 Forbidden subjects are refused here"


def test_header_reject_added_in_the_browser_refuses_mail_and_restore_takes_it_away(
    login: Callable[..., Client], personas: Personas, unique: Callable[[str], str], checks_restored: Any
) -> None:
    admin = login(personas.admin)
    sender = f"{unique('chk')}@{personas.domain_a}"
    assert send(sender, "nobody@remote.example", "a forbidden thing")[0] == 250  # before: taken
    q.purge(sender)

    confirm = propose_rule(admin, "header-checks", "^Subject: .*forbidden.*", "REJECT", TEXT)
    body = confirm.content.decode()
    assert "header_checks.pcre" in body and "REJECT 5.7.1 Forbidden subjects" in body  # the diff
    # "Test this line" against the proposal, before it is applied: postmap's answer
    tested = admin.post(
        f"{BASE}/header-checks/test/", {"line": "Subject: a forbidden thing", "token": token(confirm)}
    )
    said = tested.content.decode()
    assert tested.status_code == 200 and "Rule 1 matches" in said and f"REJECT {TEXT}" in said
    passing = admin.post(f"{BASE}/header-checks/test/", {"line": "Subject: fine", "token": token(confirm)})
    assert "No rule matches" in passing.content.decode()
    # nothing running changed yet
    assert send(sender, "nobody@remote.example", "a forbidden thing")[0] == 250
    q.purge(sender)

    apply(admin, confirm)
    code, text = send(sender, "nobody@remote.example", "a forbidden thing")
    assert code == 550 and TEXT.removeprefix("5.7.1 ") in text, (code, text)
    assert send(sender, "nobody@remote.example", "an allowed thing")[0] == 250
    page = admin.get(f"{BASE}/header-checks/").content.decode()
    assert "^Subject: .*forbidden.*" in page and "REJECT" in page
    # the running table answers the same as the proposal did
    tested = admin.post(f"{BASE}/header-checks/test/", {"line": "Subject: a forbidden thing"})
    assert "Rule 1 matches" in tested.content.decode()

    row = ConfigChange.objects.filter(service="postfix").first()
    assert row is not None and row.applied and "header_checks.pcre" in row.diff
    restore = admin.post("/configuration/postfix/restore/", {"version": str(row.base_version)})
    assert restore.status_code == 200
    apply(admin, restore)
    assert send(sender, "nobody@remote.example", "a forbidden thing")[0] == 250
    q.purge(sender)


def test_hold_puts_the_message_in_the_hold_queue(
    login: Callable[..., Client], personas: Personas, unique: Callable[[str], str], checks_restored: Any
) -> None:
    admin = login(personas.admin)
    sender = f"{unique('hold')}@{personas.domain_a}"
    try:
        confirm = propose_rule(admin, "header-checks", "^Subject: .*holdme", "HOLD", "held by the test")
        tested = admin.post(
            f"{BASE}/header-checks/test/", {"line": "Subject: please holdme", "token": token(confirm)}
        )
        said = tested.content.decode()
        assert "Rule 1 matches" in said and "HOLD held by the test" in said
        apply(admin, confirm)
        assert send(sender, "nobody@remote.example", "please holdme")[0] == 250
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not q.by_sender(sender):
            time.sleep(0.1)
        [message] = q.by_sender(sender)
        assert message["queue_name"] == "hold"
        page = admin.get("/queue/", {"sender": sender, "queue": "hold"})
        assert page.status_code == 200 and str(message["queue_id"]) in page.content.decode()
    finally:
        q.purge(sender)


def test_body_reject(
    login: Callable[..., Client], personas: Personas, unique: Callable[[str], str], checks_restored: Any
) -> None:
    admin = login(personas.admin)
    sender = f"{unique('body')}@{personas.domain_a}"
    add_rule(admin, "body-checks", "cheap pills", "REJECT", "No pills")
    code, text = send(sender, "nobody@remote.example", "hello", "Buy cheap pills now\r\n")
    assert code == 550 and "No pills" in text, (code, text)
    assert send(sender, "nobody@remote.example", "hello", "Nothing to see\r\n")[0] == 250
    q.purge(sender)


def test_move_and_delete_through_the_pages(
    login: Callable[..., Client], personas: Personas, checks_restored: Any
) -> None:
    admin = login(personas.admin)
    add_rule(admin, "header-checks", "^Subject: .*one", "WARN", "first")
    add_rule(admin, "header-checks", "^Subject: .*one", "HOLD", "second")

    def answer() -> str:
        return admin.post(f"{BASE}/header-checks/test/", {"line": "Subject: one"}).content.decode()

    assert "Rule 1 matches" in answer() and "WARN first" in answer()
    apply(admin, admin.post(f"{BASE}/header-checks/2/move/", {"direction": "up"}))
    assert "HOLD second" in answer()
    apply(admin, admin.post(f"{BASE}/header-checks/1/delete/"))
    assert "WARN first" in answer()
    edit = admin.post(
        f"{BASE}/header-checks/1/edit/", {"pattern": "^Subject: .*two", "action": "WARN", "text": "edited"}
    )
    apply(admin, edit)
    assert "No rule matches" in answer()
    assert "edited" in admin.get(f"{BASE}/header-checks/").content.decode()


def test_a_hand_edited_table_is_shown_cannot_be_adopted_and_can_be_overwritten(
    login: Callable[..., Client], personas: Personas, checks_restored: Any
) -> None:
    admin = login(personas.admin)
    path = checks_restored.config_path("body_checks.pcre")
    written = path.read_text(encoding="utf-8")
    path.write_text(written + "/by hand/ DISCARD\n", encoding="utf-8")
    page = admin.get("/configuration/postfix/").content.decode()
    assert "Edited outside the console" in page and "body_checks.pcre" in page
    assert "+/by hand/ DISCARD" in page
    adopt = admin.post("/configuration/postfix/hand-edit/", {"action": "adopt"}, follow=True)
    assert "overwrite it instead" in adopt.content.decode()
    assert path.read_text(encoding="utf-8").endswith("/by hand/ DISCARD\n")
    overwrite = admin.post("/configuration/postfix/hand-edit/", {"action": "overwrite"})
    assert "-/by hand/ DISCARD" in overwrite.content.decode()
    apply(admin, overwrite)
    assert path.read_text(encoding="utf-8") == written
