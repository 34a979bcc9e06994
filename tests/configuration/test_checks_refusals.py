"""CFG-02 refusals: hostile rules (newlines, NUL, unbalanced parentheses, backtracking, PCRE verbs, unknown
actions, bad REDIRECT/FILTER targets) get a clear message and change nothing: the stored values, every
table file and main.cf stay as they were and no staging directory is left. Everyone but an administrator
is refused on every mutating view."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mailadmin.configfiles import store
from mailadmin.configfiles.postfix.checks import TABLES
from tests.configuration.checks_tool import BASE, add_rule
from tests.conftest import Personas

pytestmark = pytest.mark.django_db

HOSTILE: list[tuple[dict[str, str], str]] = [
    ({"pattern": "^Subject: x\n/evil/ DISCARD", "action": "REJECT"}, "newlines"),
    ({"pattern": "^Subject: x\r", "action": "REJECT"}, "newlines"),
    ({"pattern": "^Subject: x\0y", "action": "REJECT"}, "Null characters are not allowed"),
    ({"pattern": "^Subject: x", "action": "REJECT", "text": "no\n/evil/ DISCARD"}, "newlines"),
    ({"pattern": "^Subject: (unbalanced", "action": "REJECT"}, "missing closing parenthesis"),
    ({"pattern": "(a+)+$", "action": "REJECT"}, "repeated part inside another"),
    ({"pattern": "^(.*)*x", "action": "REJECT"}, "repeated part inside another"),
    ({"pattern": "^(a|aa)*$", "action": "REJECT"}, "alternatives can start alike"),
    ({"pattern": r"^(\h+)+$", "action": "REJECT"}, "backtracks too much"),  # PCRE-only: the probes find it
    ({"pattern": "(*LIMIT_MATCH=999999999)x", "action": "REJECT"}, "(* option or verb"),
    ({"pattern": "x(*ACCEPT)", "action": "REJECT"}, "(* option or verb"),
    ({"pattern": "x\\", "action": "REJECT"}, "single backslash"),
    ({"pattern": "x", "action": "EXEC"}, "Select a valid choice"),
    ({"pattern": "x", "action": "REDIRECT", "text": "not an address"}, "REDIRECT needs an address"),
    ({"pattern": "x", "action": "REDIRECT", "text": "a@b.example, c@d.example"}, "REDIRECT needs an address"),
    ({"pattern": "x", "action": "FILTER", "text": "smtp"}, "FILTER needs transport:nexthop"),
    ({"pattern": "x", "action": "FILTER", "text": "smtp:[127.0.0.1]:10025 x"}, "FILTER needs transport"),
    ({"pattern": "x", "action": "FILTER", "text": "smtp:[127.0.0.1]:99999"}, "between 1 and 65535"),
    ({"pattern": "x", "action": "FILTER", "text": "bogus:[127.0.0.1]:10025"}, "master.cf does not have"),
    ({"pattern": "x", "action": "IGNORE", "text": "why"}, "IGNORE takes no text"),
    ({"pattern": "x", "action": "PREPEND", "text": "no header"}, "PREPEND needs a header line"),
]


def _snapshot(stack: Any, svc: Any) -> tuple[object, dict[str, bytes]]:
    names = ["main.cf", *(t.file for t in TABLES)]
    return store.load(stack.layout.menu, "postfix"), {n: svc.config_path(n).read_bytes() for n in names}


def _unchanged(stack: Any, svc: Any, before: tuple[object, dict[str, bytes]]) -> None:
    assert _snapshot(stack, svc) == before
    assert list((stack.layout.menu / "staging").glob("*")) == []


@pytest.mark.parametrize(("data", "message"), HOSTILE)
def test_hostile_rule_is_refused_and_nothing_changes(
    login: Callable[..., Client],
    personas: Personas,
    stack: Any,
    checks_restored: Any,
    data: Any,
    message: str,
) -> None:
    admin = login(personas.admin)
    before = _snapshot(stack, checks_restored)
    response = admin.post(f"{BASE}/header-checks/add/", data)
    assert response.status_code == 400
    assert message in response.content.decode(), response.content.decode()[-4000:]
    assert 'name="token"' not in response.content.decode()
    _unchanged(stack, checks_restored, before)


def test_pcre_message_names_the_rule(
    login: Callable[..., Client], personas: Personas, stack: Any, checks_restored: Any
) -> None:
    admin = login(personas.admin)
    add_rule(admin, "body-checks", "fine", "WARN", "ok")
    before = _snapshot(stack, checks_restored)
    response = admin.post(f"{BASE}/body-checks/add/", {"pattern": "[z-a]", "action": "REJECT"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "body_checks, rule 2: range out of order in character class" in body, body[-3000:]
    _unchanged(stack, checks_restored, before)


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps([{"pattern": "x", "action": "EXEC", "text": "/bin/sh"}]),
        json.dumps([{"pattern": "x\n/y/", "action": "REJECT"}]),
        json.dumps({"pattern": "x"}),
        "/x/ REJECT",
    ],
)
def test_the_generic_form_cannot_slip_a_table_past_the_checks(
    login: Callable[..., Client], personas: Personas, stack: Any, checks_restored: Any, raw: str
) -> None:
    admin = login(personas.admin)
    before = _snapshot(stack, checks_restored)
    response = admin.post("/configuration/postfix/", {"v-header_checks_rules": raw})
    assert response.status_code == 400
    assert "header_checks_rules" in response.content.decode()
    _unchanged(stack, checks_restored, before)


def test_bad_test_lines_are_refused(login: Callable[..., Client], personas: Personas) -> None:
    admin = login(personas.admin)
    for line in ("", "Subject: a\nb", "Subject: \0"):
        response = admin.post(f"{BASE}/header-checks/test/", {"line": line})
        assert response.status_code == 400, line
    assert admin.post(f"{BASE}/no-such-table/test/", {"line": "x"}).status_code == 404
    assert admin.get(f"{BASE}/header-checks/99/edit/").status_code == 404
    # a rule number the table does not have is no object: 404, as for edit
    assert admin.post(f"{BASE}/header-checks/99/move/", {"direction": "up"}).status_code == 404
    assert admin.post(f"{BASE}/header-checks/99/delete/", {}).status_code == 404


MUTATING = [
    ("header-checks/add/", {"pattern": "x", "action": "REJECT"}),
    ("header-checks/1/edit/", {"pattern": "x", "action": "REJECT"}),
    ("header-checks/1/move/", {"direction": "down"}),
    ("header-checks/1/delete/", {}),
    ("header-checks/test/", {"line": "Subject: x"}),
]


def test_personas_are_refused_everywhere(
    login: Callable[..., Client], personas: Personas, stack: Any, checks_restored: Any
) -> None:
    admin = login(personas.admin)
    add_rule(admin, "header-checks", "^Subject: a", "WARN", "one")
    add_rule(admin, "header-checks", "^Subject: b", "WARN", "two")
    before = _snapshot(stack, checks_restored)
    for persona in (personas.domain_admin_a, personas.domain_admin_b, personas.group_admin, personas.user):
        client = login(persona)
        for url, data in MUTATING:
            response = client.post(f"{BASE}/{url}", data)
            assert response.status_code in (403, 404), (persona.uid, url, response.status_code)
        for url in ("", "header-checks/", "header-checks/add/", "header-checks/1/edit/"):
            assert client.get(f"{BASE}/{url}").status_code in (403, 404), (persona.uid, url)
    _unchanged(stack, checks_restored, before)
