"""Fixtures shared by the whole suite.

The private mail stack is started once per session by the `mailadmin.pytest_stack` plugin (before Django
reads its settings). Tests get a fresh subtree: a new domain per test (`domain`), and a fixed set of
personas (admin, domain admin of a.test, domain admin of b.test, group admin, plain user) made once per
session through the same services the console uses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from mailadmin.actor import Actor
from mailadmin.celery import app
from mailadmin.pytest_stack import session_stack

PASSWORD = "Persona-pass-1"


@pytest.fixture(scope="session")
def stack() -> object:
    running = session_stack()
    if running is None:
        pytest.skip("needs the private stack (run without --no-stack)")
    return running


@pytest.fixture(scope="session")
def system_actor() -> Actor:
    return Actor.system("tests")


@dataclass(frozen=True)
class Persona:
    key: str
    uid: str
    dn: str
    password: str = PASSWORD


@dataclass(frozen=True)
class Personas:
    admin: Persona
    domain_admin_a: Persona
    domain_admin_b: Persona
    group_admin: Persona
    user: Persona
    domain_a: str
    domain_b: str
    group_dn: str

    def all(self) -> list[Persona]:
        return [self.admin, self.domain_admin_a, self.domain_admin_b, self.group_admin, self.user]


@pytest.fixture(scope="session")
def personas(stack: object, django_db_setup: None, django_db_blocker: object) -> Personas:
    """admin; domain admin of a.test; domain admin of b.test; group admin of a.test's `sales`; a plain user
    in `sales`. Made once: the directory is not rolled back between tests, so tests must not change them."""
    from accounts import services
    from mailadmin.directory import dit

    actor = Actor.system("tests")
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        for name in ("a.test", "b.test"):
            services.domain_create(actor=actor, name=name)
        org_a = dit.organization_dn("a.test", "a.test")
        org_b = dit.organization_dn("b.test", "b.test")
        services.group_create(actor=actor, parent_dn=org_a, name="sales")
        sales = dit.group_dn(org_a, "sales")

        def make(uid: str, container: str, mailbox: bool = False) -> Persona:
            services.user_create(
                actor=actor,
                container_dn=container,
                uid=uid,
                password=PASSWORD,
                last_name=uid.title(),
                create_mailbox=mailbox,
            )
            return Persona(uid, uid, dit.account_dn(container, uid))

        admin = make("alladmin", dit.admins_dn())
        services.administrator_add(actor=actor, account_dn=admin.dn)
        dana_a = make("dana-a", org_a)
        services.domain_admin_add(actor=actor, domain="a.test", account_dn=dana_a.dn)
        dana_b = make("dana-b", org_b)
        services.domain_admin_add(actor=actor, domain="b.test", account_dn=dana_b.dn)
        gary = make("gary", sales)
        services.group_admin_add(actor=actor, group_dn=sales, account_dn=gary.dn)
        ursula = make("ursula", sales, mailbox=True)
    return Personas(admin, dana_a, dana_b, gary, ursula, "a.test", "b.test", sales)


@pytest.fixture
def login(db: None) -> Callable[[Persona], Client]:
    """A test client logged in through the real login view (an LDAP bind as the persona)."""

    def do(persona: Persona) -> Client:
        client = Client()
        response = client.post("/login/", {"username": persona.uid, "password": persona.password})
        assert response.status_code == 302, response.content.decode()[:2000]
        return client

    return do


@pytest.fixture
def domain(stack: object, db: None) -> Iterator[str]:
    """A fresh mail domain (with its organization) for one test."""
    from accounts import services

    name = f"t{uuid.uuid4().hex[:10]}.test"
    services.domain_create(actor=Actor.system("tests"), name=name)
    yield name


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique, valid login names for one test."""
    return lambda prefix: f"{prefix}{uuid.uuid4().hex[:8]}"


def child_env() -> dict[str, str]:
    """The environment for a child process (a worker, beat, `manage.py`) that must use the test database."""
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return env


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """TERM, and KILL if it has not gone within 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def worker(stack: object, django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A real `celery worker` process using the test database. Stopped before the database is dropped."""
    env = child_env()
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    celery = Path(sys.executable).with_name("celery")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(celery),
                "-A",
                "mailadmin",
                "worker",
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("celery worker did not start:\n" + log.read_text()[-3000:])
        yield
    finally:
        stop_process(proc)


@pytest.fixture
def beat(worker: None, tmp_path: Path) -> Iterator[Path]:
    """A real `celery beat` process (django-celery-beat's DatabaseScheduler, as in production) on the test
    database, for one test: started after the worker, stopped before the database is flushed. It wakes at
    least once a second (--max-interval 1), so a new or changed schedule is read within a second.
    Yields its log file."""
    env = child_env()
    log = tmp_path / "beat.log"
    celery = Path(sys.executable).with_name("celery")
    argv = [str(celery), "-A", "mailadmin", "beat", "--loglevel", "INFO", "--max-interval", "1"]
    argv += ["--pidfile", str(tmp_path / "beat.pid"), "--schedule", str(tmp_path / "beat-schedule")]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while "beat: Starting..." not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("celery beat did not start:\n" + log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
        yield log
    finally:
        stop_process(proc)
