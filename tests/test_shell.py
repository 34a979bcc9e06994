"""The console shell: dashboard with every daemon up, the manual's menu, pages not built yet, i18n, assets."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.conftest import Persona, Personas

pytestmark = pytest.mark.django_db

Login = Callable[[Persona], Client]
MENU = [
    "Accounts",
    "Aliases",
    "Mail Folders",
    "Mail Delivery",
    "Configuration",
    "Tools",
    "System",
    "Web Client",
]


def test_dashboard_shows_every_daemon_up(personas: Personas, login: Login) -> None:
    page = login(personas.admin).get("/").content.decode()
    for name in ("OpenLDAP (slapd)", "Postfix (SMTP)", "Cyrus IMAP", "Database", "Redis"):
        assert f'data-service="{name}"' in page, name
    services = page.split('id="services"')[1].split("</section>")[0]
    assert 'class="down"' not in services.replace('class="down" data-service="Job worker"', "")
    assert "Cyrus IMAP 3." in page and "Postfix 3." in page and "PostgreSQL" in page


def test_dashboard_services_partial_for_htmx(personas: Personas, login: Login) -> None:
    response = login(personas.admin).get("/?part=services", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith("<section") and "<html" not in body


def test_dashboard_counts_directory(personas: Personas, login: Login) -> None:
    page = login(personas.admin).get("/").content.decode()
    assert "Domains" in page and "Users" in page


def test_menu_has_the_manuals_sections_in_order(personas: Personas, login: Login) -> None:
    page = login(personas.admin).get("/").content.decode()
    positions = [page.index(f"<summary>{title}</summary>") for title in MENU]
    assert positions == sorted(positions)


def test_pages_not_built_say_so(personas: Personas, login: Login) -> None:
    response = login(personas.admin).get("/tools/statistics/")
    assert response.status_code == 200 and "not built yet" in response.content.decode()
    assert "TLS-09" in response.content.decode()
    assert login(personas.admin).get("/tools/no-such-page/").status_code == 404


def test_language_switch_to_german(personas: Personas, login: Login) -> None:
    client = login(personas.admin)
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert 'lang="de"' in page and "Abmelden" in page and "Konten" in page


def test_static_assets_are_local(personas: Personas, login: Login) -> None:
    page = login(personas.admin).get("/").content.decode()
    assert "https://" not in page.split("<body")[0]
    assert "/static/vendor/htmx.min.js" in page and "/static/mailadmin.css" in page


def test_security_headers(client: Client) -> None:
    response = client.get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_menu_items_with_a_minimum_rank(personas: Personas, login: Login) -> None:
    # group administrators have no alias rights: "Explain this address" would only answer 404 to them
    assert "Explain this address" not in login(personas.group_admin).get("/").content.decode()
    assert "Explain this address" in login(personas.domain_admin_a).get("/").content.decode()
