"""Installation checks: host name sanity and the process holding each port (SYS-02)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from mailadmin import preflight
from tests.conftest import Persona, Personas

ROOT = Path(__file__).resolve().parent.parent


def test_ports_name_the_process_that_holds_them(stack: object) -> None:
    uses = {u.service: u for u in preflight.port_uses()}
    assert uses["LDAP (slapd)"].in_use and uses["LDAP (slapd)"].process == "slapd"
    assert uses["IMAP (Cyrus)"].in_use and uses["IMAP (Cyrus)"].process == "cyrmaster"
    assert uses["SMTP (Postfix)"].in_use and uses["SMTP (Postfix)"].process == "master"


def test_a_free_port_is_reported_free() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (use,) = preflight.port_uses({"probe": port})
    assert not use.in_use


def test_hostname_findings_cover_fqdn() -> None:
    subjects = {f.subject for f in preflight.hostname_findings()}
    assert {"hostname", "fqdn"} <= subjects


def test_preflight_command_refuses_busy_ports(stack: object, db: None) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "preflight", "--expect-free"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "Can't start until the following ports are available" in result.stderr
    assert f"{settings.IMAP_PORT} (cyrmaster)" in result.stderr


@pytest.mark.django_db
def test_preflight_page(personas: Personas, login: Callable[[Persona], Client]) -> None:
    page = login(personas.admin).get("/system/preflight/").content.decode()
    assert "slapd" in page and "Fully qualified name" in page or "fully qualified name" in page
