"""In a real browser (Debian's chromium through Playwright): a domain administrator browses their tree.

A fresh domain administrator of a fresh domain logs in, opens the account browser from the menu, sees only
their own domain, opens a group and pages through its users (htmx swaps the list; the URL follows)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from accounts import services
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Tree-admin-pw-1"
USERS = 65


def test_domain_admin_sees_only_their_domain_and_pages_through_a_group(
    browser: Any, live_server: Any, personas: Any, domain: str, unique: Callable[[str], str], tmp_path: Path
) -> None:
    actor = Actor.system("tests")
    org = dit.organization_dn(domain, domain)
    uid = unique("tree")
    admin_dn = services.user_create(
        actor=actor, container_dn=org, uid=uid, password=PASSWORD, last_name="Tree", create_mailbox=False
    )
    services.domain_admin_add(actor=actor, domain=domain, account_dn=admin_dn)
    team = services.group_create(actor=actor, parent_dn=org, name="team")
    prefix = unique("m")
    for i in range(USERS):
        member = f"{prefix}{i:03d}"
        directory.add(
            dit.account_dn(team, member),
            {
                "objectClass": ["inetOrgPerson", "mailAccount"],
                "uid": member,
                "cn": f"Member {i:03d}",
                "sn": "Member",
                "mail": f"{member}@{domain}",
                "mailEnabled": True,
            },
        )

    page = browser.new_page()
    page.goto(live_server.url + "/")
    page.get_by_label("Login/User name").fill(uid)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")

    page.get_by_text("Accounts", exact=True).click()
    page.get_by_role("link", name="Account browser").click()
    assert page.locator("h1").inner_text() == f"Domain: {domain}"
    # The personas' domains a.test and b.test exist, but not for them.
    links = page.locator("main a").all_inner_texts()
    assert "a.test" not in links and "b.test" not in links and domain in links
    assert "dc=a.test," not in page.content() and "dc=b.test," not in page.content()
    assert page.get_by_role("link", name="Create Organization").count() == 0

    page.get_by_role("link", name=domain, exact=True).click()  # the domain's organization
    assert page.locator("h1").inner_text() == f"Organization: {domain}"
    page.get_by_role("link", name="team", exact=True).click()
    assert page.locator("h1").inner_text() == "Group: team"
    objects = page.locator("#browser-objects")
    assert objects.locator("tbody tr").count() == 50
    assert "Page 1 of 2" in objects.inner_text() and "Member 000" in objects.inner_text()

    objects.get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")  # hx-push-url: the address bar names the page shown
    objects = page.locator("#browser-objects")
    objects.get_by_text("Page 2 of 2").wait_for()
    assert objects.locator("tbody tr").count() == USERS - 50
    assert "Member 064" in objects.inner_text() and "Member 000" not in objects.inner_text()
    assert page.locator("h1").inner_text() == "Group: team"  # only the list was swapped
    page.screenshot(path=str(tmp_path / "tree.png"), full_page=True)

    objects.get_by_role("link", name="Previous").click()
    page.locator("#browser-objects").get_by_text("Page 1 of 2").wait_for()
    page.close()
