"""In a real browser (Debian's chromium through Playwright): an administrator builds a domain, an
organization, a group and a user with mailbox and groupware folders, all through the pages, from the menu
on; the new user then logs in over IMAP and lists the folders in the chosen language."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailadmin import imap
from mailadmin.directory import dit
from tests import ldaptool
from tests.accounts import usertool

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-made-1"


def test_admin_creates_domain_organization_group_and_user_through_the_pages(
    browser: Any, live_server: Any, personas: Any, unique: Callable[[str], str], tmp_path: Path
) -> None:
    domain = f"web{uuid.uuid4().hex[:8]}.test"
    uid = unique("webuser")
    page = browser.new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("Login/User name").fill(personas.admin.uid)
    page.get_by_label("Password").fill(personas.admin.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")

    # Domain (with its organization of the same name), from the menu.
    page.get_by_text("Accounts", exact=True).click()
    page.get_by_role("link", name="Create Domain").click()
    page.get_by_label("Domain name").fill(domain)
    page.get_by_role("button", name="Create Domain").click()
    page.wait_for_load_state()
    assert domain in page.locator("h1").inner_text()

    # A second organization of the domain, then a group in it.
    page.get_by_role("link", name="Create Organization").click()
    page.locator("#id_name").fill("Field Office")
    page.get_by_role("button", name="Create Organization").click()
    page.wait_for_load_state()
    assert "Field Office" in page.locator("h1").inner_text()
    page.get_by_role("link", name="Create Group").click()
    page.locator("#id_name").fill("Sales")
    page.get_by_role("button", name="Create Group").click()
    page.wait_for_load_state()
    assert "Sales" in page.locator("h1").inner_text()

    # The user, with mailbox, quota and German groupware folders.
    page.get_by_role("link", name="Create User").click()
    page.get_by_label("Login/User name").fill(uid)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("Last name").fill("Webber")
    page.get_by_label("First name").fill("Wanda")
    assert page.get_by_label("Create mailbox").is_checked()
    page.get_by_label("Set quota").fill("25")
    page.get_by_label("Create Outlook folders").check()
    page.get_by_label("Folder language").select_option("de")
    page.screenshot(path=str(tmp_path / "create_user.png"), full_page=True)
    page.get_by_role("button", name="Create User").click()
    page.wait_for_url("**/accounts/users/?dn=*")
    body = page.locator("main").inner_text()
    assert f"User {uid} has been created." in body
    assert "Kalender" in body and "Gesendete Objekte" in body and "25600 KiB" in body
    page.screenshot(path=str(tmp_path / "user_page.png"), full_page=True)

    group = dit.group_dn(dit.organization_dn(domain, "Field Office"), "Sales")
    dn = dit.account_dn(group, uid)
    assert ldaptool.attribute(dn, "mail") == [f"{uid}@{domain}"]
    assert imap.login_check(uid, PASSWORD)
    assert "INBOX/Kalender" in usertool.folders(uid, PASSWORD)

    # Disable from the page (htmx swaps the status block), then the user cannot log in.
    page.get_by_role("button", name="Disable").click()
    page.locator("#user-status").get_by_text("is disabled").wait_for()
    assert not imap.login_check(uid, PASSWORD)
    page.close()
