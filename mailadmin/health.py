"""Is each daemon up, which version, at which address — for the dashboard and the stack check.

Every probe has a short timeout: a dead daemon must not make the dashboard hang."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class ServiceState:
    name: str
    up: bool
    address: str
    version: str = ""
    detail: str = ""
    millis: int = 0


def _banner(host: str, port: int, greeting: bytes = b"") -> str:
    with socket.create_connection((host, port), timeout=PROBE_TIMEOUT) as sock:
        sock.settimeout(PROBE_TIMEOUT)
        if greeting:
            sock.sendall(greeting)
        data = sock.recv(4096).decode("utf-8", "replace").strip()
        if data.startswith("220"):
            sock.sendall(b"QUIT\r\n")
        elif data.startswith("* OK"):
            sock.sendall(b"x LOGOUT\r\n")
        return data


def _timed(name: str, address: str, probe: Callable[[], tuple[bool, str, str]]) -> ServiceState:
    start = time.monotonic()
    try:
        up, version, detail = probe()
    except Exception as exc:  # noqa: BLE001 — any failure of a probe means "down", with its reason
        up, version, detail = False, "", str(exc) or exc.__class__.__name__
    return ServiceState(name, up, address, version, detail, int((time.monotonic() - start) * 1000))


def _ldap() -> tuple[bool, str, str]:
    from mailadmin import directory

    info = directory.server_info()
    return True, info.get("version", ""), info.get("detail", "")


def _smtp() -> tuple[bool, str, str]:
    banner = _banner(settings.SMTP_HOST, settings.SMTP_PORT)
    if not banner.startswith("220"):
        return False, "", banner[:200]
    version = ""
    try:
        from mailadmin import postfix

        version = "Postfix " + postfix.postconf_h(settings.POSTFIX_CONFIG_DIR, "mail_version")
    except Exception:  # noqa: BLE001 — the version is a nicety; the banner proves it is up
        version = "Postfix"
    return True, version, banner[:200]


def _imap() -> tuple[bool, str, str]:
    banner = _banner(settings.IMAP_HOST, settings.IMAP_PORT)
    if not banner.startswith("* OK"):
        return False, "", banner[:200]
    match = re.search(r"Cyrus IMAP (\d[\w.]*)", banner)
    return True, f"Cyrus IMAP {match.group(1)}" if match else "IMAP", ""


def _redis() -> tuple[bool, str, str]:
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT, socket_connect_timeout=PROBE_TIMEOUT
    )
    try:
        info = client.info("server")
    finally:
        client.close()
    return True, f"Redis {info.get('redis_version', '')}", ""


def _database() -> tuple[bool, str, str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return True, f"PostgreSQL {cursor.fetchone()[0]}", ""
        cursor.execute("SELECT sqlite_version()")
        return True, f"SQLite {cursor.fetchone()[0]}", ""


def _amavis() -> tuple[bool, str, str]:
    banner = _banner("127.0.0.1", settings.AMAVIS_PORT)
    if not banner.startswith("220"):
        return False, "", banner[:200]
    return True, "amavisd-new", banner[:200]


def _clamd() -> tuple[bool, str, str]:
    """zVERSION: clamd answers once its signatures are loaded ("ClamAV 1.4.6/..." )."""
    with socket.create_connection(("127.0.0.1", settings.CLAMD_PORT), timeout=PROBE_TIMEOUT) as sock:
        sock.settimeout(PROBE_TIMEOUT)
        sock.sendall(b"zVERSION\0")
        answer = sock.recv(256).rstrip(b"\0\n").decode("utf-8", "replace")
    if not answer.startswith("ClamAV"):
        return False, "", answer[:200]
    return True, answer.split("/")[0], ""


WORKER_ANSWER_SECONDS = 15


def _worker() -> tuple[bool, str, str]:
    from django.core.cache import cache

    from mailadmin.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True, "in-process (eager)", "jobs run inside the web process"
    # A missing worker makes ping wait its whole timeout: remember the answer for a few seconds, so a
    # dashboard refreshed by htmx does not wait a second each time.
    known = cache.get("health:worker")
    if known is not None:
        up, version, detail = known
        return bool(up), str(version), str(detail)
    # limit=1: the first answer is enough to say "up"; without it ping always waits the full timeout.
    replies = app.control.ping(timeout=1.0, limit=1)
    answer = (True, "Celery", "") if replies else (False, "", "no Celery worker answered")
    cache.set("health:worker", list(answer), WORKER_ANSWER_SECONDS)
    return answer


def _db_address() -> str:
    db = settings.DATABASES["default"]
    if str(db.get("ENGINE", "")).endswith("sqlite3"):
        return str(db.get("NAME"))
    return f"{db.get('HOST')}:{db.get('PORT')}/{db.get('NAME')}"


def _redis_address() -> str:
    parts = urlsplit(settings.REDIS_URL)
    return f"{parts.hostname}:{parts.port}"


def service_states() -> list[ServiceState]:
    states = [
        _timed("OpenLDAP (slapd)", settings.LDAP_URI, _ldap),
        _timed("Postfix (SMTP)", f"{settings.SMTP_HOST}:{settings.SMTP_PORT}", _smtp),
        _timed("Cyrus IMAP", f"{settings.IMAP_HOST}:{settings.IMAP_PORT}", _imap),
        _timed("Database", _db_address(), _database),
    ]
    # the content filter's daemons, where the console has them (CFG-03); shown whether the filter is on or not
    if settings.AMAVIS_PORT:
        states.append(_timed("Content filter (amavisd)", f"127.0.0.1:{settings.AMAVIS_PORT}", _amavis))
    if settings.CLAMD_PORT:
        states.append(_timed("Virus scanner (clamd)", f"127.0.0.1:{settings.CLAMD_PORT}", _clamd))
    if settings.REDIS_URL:
        states.append(_timed("Redis", _redis_address(), _redis))
        states.append(_timed("Job worker", settings.CELERY_BROKER_URL.split("@")[-1], _worker))
    return states
