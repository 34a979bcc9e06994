""" "Check the mail system": one function per check, each says in a sentence what it found.

Used by the job of the same name (Tools menu) and by `manage.py checkstack`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str


def check_ldap() -> str:
    from mailadmin import directory

    info = directory.server_info()
    if not directory.schema_loaded():
        raise RuntimeError("slapd answers, but the mailadmin schema (objectClass mailAccount) is not loaded.")
    return f"slapd answers at {settings.LDAP_URI} ({info.get('version') or 'OpenLDAP'}); schema loaded."


def check_postconf() -> str:
    from mailadmin import postfix

    warnings = postfix.postconf_warnings(settings.POSTFIX_CONFIG_DIR)
    if warnings:
        raise RuntimeError("postconf -n warns: " + "; ".join(warnings))
    return f"postconf -n in {settings.POSTFIX_CONFIG_DIR} is clean."


def ldap_tables() -> list[Path]:
    conf = Path(settings.POSTFIX_CONFIG_DIR)
    return sorted(
        p
        for p in conf.glob("*.cf")
        if p.name not in {"main.cf", "master.cf"} and "server_host" in p.read_text(errors="replace")
    )


def check_postmap() -> str:
    from mailadmin import postfix

    tables = ldap_tables()
    if not tables:
        raise RuntimeError(f"no ldap: tables found in {settings.POSTFIX_CONFIG_DIR}.")
    for table in tables:
        # An unknown key must come back as "not found", not as a lookup error (bind refused, bad filter).
        postfix.postmap_query(
            "probe-does-not-exist@mailadmin.invalid", f"ldap:{table}", settings.POSTFIX_CONFIG_DIR
        )
    return f"{len(tables)} ldap: tables answer postmap -q: " + ", ".join(t.name for t in tables) + "."


def check_cyrus() -> str:
    from mailadmin import imap

    with imap.admin_session():
        pass
    return f"Cyrus accepts the admin login at {settings.IMAP_HOST}:{settings.IMAP_PORT}."


def check_redis() -> str:
    import redis

    if not settings.REDIS_URL:
        return "No Redis configured (jobs run in-process)."
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "Redis answers PING."


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return f"The {connection.vendor} database answers."


CHECKS: tuple[tuple[str, Callable[[], str]], ...] = (
    ("OpenLDAP", check_ldap),
    ("Postfix configuration", check_postconf),
    ("Postfix LDAP tables", check_postmap),
    ("Cyrus IMAP", check_cyrus),
    ("Redis", check_redis),
    ("Database", check_database),
)


def run_check(name: str, check: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, check())
    except Exception as exc:  # noqa: BLE001 — every failure is a finding, not a crash
        return CheckResult(name, False, str(exc) or exc.__class__.__name__)
