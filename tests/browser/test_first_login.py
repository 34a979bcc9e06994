"""In a real browser (Debian's chromium through Playwright): a new administrator's first login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts import services
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_administrator_changes_password_then_sees_every_daemon_up(
    browser: Any, live_server: Any, worker: None, unique: Any, tmp_path: Path
) -> None:
    uid = unique("boss")
    dn = dit.account_dn(dit.admins_dn(), uid)
    actor = Actor.system("tests")
    services.user_create(
        actor=actor,
        container_dn=dit.admins_dn(),
        uid=uid,
        password="Generated-pw-1",
        last_name="Boss",
        create_mailbox=False,
    )
    services.administrator_add(actor=actor, account_dn=dn)
    directory.password_reset_required(dn)

    page = browser.new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("Login/User name").fill(uid)
    page.get_by_label("Password").fill("Generated-pw-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/account/password/")
    page.get_by_label("Current password").fill("Generated-pw-1")
    page.locator("#id_new_password").fill("Chosen-pw-123")
    page.get_by_label("New password (again)").fill("Chosen-pw-123")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(live_server.url + "/")
    rows = page.locator("#services tbody tr")
    assert rows.count() >= 6
    for i in range(rows.count()):
        row = rows.nth(i)
        assert row.get_attribute("class") == "up", row.inner_text()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # The menu opens without JavaScript tricks (details/summary) and leads to a page.
    page.get_by_text("Tools", exact=True).click()
    page.get_by_role("link", name="Audit log").click()
    assert page.locator("h1").inner_text() == "Audit log"
    page.close()
