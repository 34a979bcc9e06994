"""The Disclaimers pages (DLV-03): administrators only, sanitised HTML, hostile input refused, the filter's
file follows every change."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mailadmin.directory import dit
from mailqueue.disclaimers.models import Disclaimer
from mailqueue.mailfilter.snapshot import snapshot_path
from tests.conftest import Persona, Personas

HOSTILE_HTML = (
    '<p onclick="steal()">Keep <b>this</b></p><script>alert(1)</script>'
    '<img src=x onerror=alert(1)><img src="javascript:alert(2)"><a href="javascript:alert(3)">link</a>'
    '<a href="data:text/html,<script>alert(4)</script>">d</a><img src="data:image/svg+xml;base64,PHN2Zz4=">'
    '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>'
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="logo"><a href="https://ok.example/">ok</a>'
)


def _published() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(snapshot_path().read_text(encoding="utf-8"))["disclaimers"]
    return data


@pytest.fixture
def admin(login: Callable[[Persona], Client], personas: Personas) -> Client:
    return login(personas.admin)


def test_admin_creates_edits_deletes_with_sanitised_html(
    admin: Client, domain: str, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/queue/disclaimers/new/",
            {"owner": domain, "text": "Plain words.", "html": HOSTILE_HTML, "outbound_only": "on"},
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    item = Disclaimer.objects.get(owner_key=dit.normalize_dn(dit.domain_dn(domain)))
    assert item.kind == "domain" and item.outbound_only
    html = item.html.lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "data:text", "svg", "<iframe", "<style"):
        assert bad not in html, (bad, item.html)
    assert "<b>this</b>" in html
    assert 'src="data:image/png;base64,ivborw0kggo="' in html
    assert 'href="https://ok.example/"' in html
    published = _published()[item.owner_key]
    assert published == {"text": "Plain words.", "html": item.html, "outbound_only": True}

    page = admin.get("/queue/disclaimers/").content.decode()
    assert "Plain words." in page and domain in page
    assert "does not have the latest" not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            f"/queue/disclaimers/{item.pk}/", {"owner": domain, "text": "Changed.", "html": ""}
        )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.text == "Changed." and item.html == "Changed." and not item.outbound_only
    assert _published()[item.owner_key]["text"] == "Changed."

    assert admin.get(f"/queue/disclaimers/{item.pk}/delete/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/queue/disclaimers/{item.pk}/delete/")
    assert response.status_code == 302
    assert not Disclaimer.objects.filter(pk=item.pk).exists()
    assert item.owner_key not in _published()


def test_owner_by_login_address_and_dn(
    admin: Client, domain: str, unique: Callable[[str], str], django_capture_on_commit_callbacks: Any
) -> None:
    from tests.mailqueue.disclaimer_tool import make_user

    uid = unique("own")
    dn = make_user(domain, uid)
    org = dit.organization_dn(domain, domain)
    for owner, kind in ((uid, "user"), (org, "organization")):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post("/queue/disclaimers/new/", {"owner": owner, "text": f"for {kind}"})
        assert response.status_code == 302, response.content.decode()[:3000]
        assert Disclaimer.objects.get(owner_key=dit.normalize_dn(dn if kind == "user" else org)).kind == kind
    # one per object: the address names the same user again
    response = admin.post("/queue/disclaimers/new/", {"owner": f"{uid}@{domain}", "text": "again"})
    assert response.status_code == 200
    assert "already" in response.content.decode()


@pytest.mark.parametrize(
    "owner",
    [
        "*)(uid=*",
        "x,ou=admins",
        "a+uid=root",
        "#leading",
        "trailing ",
        "nul\x00byte",
        "crlf\r\nX-Injected: 1",
        "a" * 300,
        '"><img src=x onerror=alert(1)>',
        "nosuchdomain-xyz.example",
        "cn=manager,dc=mailadmin",
        "ou=services,dc=mailadmin",
    ],
)
def test_hostile_owner_refused(admin: Client, owner: str) -> None:
    before = Disclaimer.objects.count()
    response = admin.post("/queue/disclaimers/new/", {"owner": owner, "text": "x"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="error"' in body
    assert "<img src=x onerror" not in body
    assert Disclaimer.objects.count() == before


def test_hostile_text_is_escaped_on_the_list(
    admin: Client, domain: str, django_capture_on_commit_callbacks: Any
) -> None:
    response = admin.post("/queue/disclaimers/new/", {"owner": domain, "text": "nul\x00byte"})
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/queue/disclaimers/new/", {"owner": domain, "text": '"><img src=x onerror=alert(1)>\r\n'}
        )
    assert response.status_code == 302
    page = admin.get("/queue/disclaimers/").content.decode()
    assert "<img src=x onerror" not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_empty_disclaimer_refused(admin: Client, domain: str) -> None:
    response = admin.post(
        "/queue/disclaimers/new/", {"owner": domain, "text": " ", "html": "<script>x</script>"}
    )
    assert response.status_code == 200
    assert not Disclaimer.objects.filter(owner_key=dit.normalize_dn(dit.domain_dn(domain))).exists()


def test_refused_personas_get_404_and_change_nothing(
    login: Callable[[Persona], Client],
    personas: Personas,
    domain: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from mailqueue.disclaimers.services import disclaimer_save
    from tests.mailqueue.disclaimer_tool import ACTOR

    with django_capture_on_commit_callbacks(execute=True):
        item = disclaimer_save(actor=ACTOR, owner=domain, text="Keep me.", html="", outbound_only=False)
    # the domain admins' own domains included: disclaimers are the administrators' business
    own = Disclaimer.objects.create(
        owner_dn=dit.domain_dn(personas.domain_a),
        owner_key=dit.normalize_dn(dit.domain_dn(personas.domain_a)),
        kind="domain",
        text="A's",
        html="A's",
    )
    snapshot = snapshot_path().read_bytes()
    for persona in (personas.domain_admin_a, personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        for pk in (item.pk, own.pk):
            for url in ("/queue/disclaimers/", "/queue/disclaimers/new/", f"/queue/disclaimers/{pk}/"):
                assert client.get(url).status_code == 404, (persona.uid, url)
            posts = {
                "/queue/disclaimers/new/": {"owner": personas.domain_a, "text": "mine"},
                f"/queue/disclaimers/{pk}/": {"owner": domain, "text": "changed"},
                f"/queue/disclaimers/{pk}/delete/": {},
            }
            for url, data in posts.items():
                with django_capture_on_commit_callbacks(execute=True):
                    assert client.post(url, data).status_code == 404, (persona.uid, url)
    item.refresh_from_db()
    own.refresh_from_db()
    assert item.text == "Keep me." and own.text == "A's"
    assert Disclaimer.objects.filter(pk__in=[item.pk, own.pk]).count() == 2
    assert snapshot_path().read_bytes() == snapshot


def test_anonymous_sent_to_login(client: Client) -> None:
    response = client.get("/queue/disclaimers/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_unwritable_filter_file_is_reported(
    admin: Client, domain: str, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILFILTER_DISCLAIMERS", "/dev/null/disclaimers.json")  # a file cannot hold a dir
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post("/queue/disclaimers/new/", {"owner": domain, "text": "Saved anyway."})
    assert response.status_code == 302  # the change is made; only the filter's copy is behind
    assert Disclaimer.objects.filter(text="Saved anyway.").exists()
    page = admin.get("/queue/disclaimers/").content.decode()
    assert "does not have the latest" in page
