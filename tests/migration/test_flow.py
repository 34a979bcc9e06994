"""The import pipeline end to end through the pages, checked from outside: ldapsearch, IMAP, SMTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from mailadmin import imap
from mailadmin.directory import dit
from migration.models import ImportRun
from tests import ldaptool
from tests.conftest import Persona, Personas
from tests.migration.importtool import PASSWORD, checked, confirm, ldif, person, verdicts

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]


def test_small_ldif_is_checked_confirmed_and_created(personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    client = login(personas.admin)
    data = ldif(
        person("ann", org, givenName="Ann", mail=f"ann@{domain}", telephoneNumber="+49 30 1"),
        person("bob", org, mailAlias=f"robert@{domain}"),
        person("bad", org, password=None),
    )
    run = checked(client, data, org)
    assert run.status == ImportRun.Status.READY, (run.error, verdicts(run))
    assert (run.total, run.accepted, run.refused) == (3, 2, 1)
    assert verdicts(run)["bad"][0] == "refused"
    page = client.get(f"/tools/import/{run.pk}/").content.decode()
    assert "Confirm" in page and "the entry has no password" in page
    run = confirm(client, run)
    assert run.status == ImportRun.Status.DONE, (run.error, verdicts(run))
    assert (run.created, run.failed) == (2, 0)
    assert ldaptool.bind_ok(dit.account_dn(org, "ann"), PASSWORD)
    assert ldaptool.attribute(dit.account_dn(org, "ann"), "telephoneNumber") == ["+49 30 1"]
    assert ldaptool.attribute(dit.account_dn(org, "bob"), "mailAlias") == [f"robert@{domain}"]
    assert imap.login_check("ann", PASSWORD)
    assert ldaptool.dump(dit.account_dn(org, "bad"), scope="base") == "\n"
