"""Every verdict counted from real mail, the header check's too: with the content filter on, a header check
REJECT (added through the UCE controls' pages) refuses one message at the end of DATA, amavisd passes a
clean one, and the counters read one "rejected" from Postfix's log and one "clean" from amavisd's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from mailadmin import verdicts
from tests.configuration.checks_tool import add_rule
from tests.configuration.checks_tool import send as send_text
from tests.configuration.conftest import checks_restored  # noqa: F401 - the fixture, shared
from tests.conftest import Personas
from tests.contentfilter import cftool
from tests.mailqueue.disclaimer_tool import fetch_all, make_user

pytestmark = pytest.mark.django_db


def test_check_reject_and_clean_are_counted(
    filter_on: Any,
    checks_restored: Any,  # noqa: F811
    stack: Any,
    login: Callable[..., Client],
    personas: Personas,
    domain: str,
    unique: Callable[[str], str],
) -> None:
    uid = unique("cv")
    make_user(domain, uid)
    to = f"{uid}@{domain}"
    add_rule(
        login(personas.admin), "header-checks", "^Subject: .*counted-refusal.*", "REJECT", "5.7.1 Not here"
    )
    logs = [stack.layout.amavis_log, stack.layout.maillog]
    _before, offsets = verdicts.count_logs(logs)
    code, _text = send_text("someone@example.org", to, "a counted-refusal")
    assert code == 550
    assert send_text("someone@example.org", to, "a clean one")[0] == 250
    fetch_all(uid, 1)
    cftool.wait_log(stack.layout.maillog, offsets[stack.layout.maillog], "reject: header Subject: a counted")
    counts, _after = verdicts.count_logs(logs, offsets)
    assert (counts["rejected"], counts["clean"], counts["virus"], counts["spam"]) == (1, 1, 0, 0), counts
