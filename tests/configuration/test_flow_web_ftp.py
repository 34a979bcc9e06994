"""nginx and ProFTPD through the same change flow as the other services: proven by what each daemon then
does (an HTTPS answer, an FTP greeting), rolled back when the smoke test fails."""

from __future__ import annotations

import ftplib
from collections.abc import Iterator
from typing import Any

import pytest

from mailadmin.configfiles import atomic_write, store
from mailadmin.configfiles.change import flow
from mailadmin.configfiles.registry.nginx import NGINX
from mailadmin.configfiles.registry.proftpd import PROFTPD


@pytest.fixture
def nginx(stack: Any) -> Iterator[Any]:
    svc, menu = stack.service("nginx"), stack.layout.menu
    before = store.load(menu, "nginx")
    yield svc
    store.save(menu, "nginx", before.values, before.version)
    for name, text in svc.render(before.values).items():
        atomic_write(svc.config_path(name), text)
    svc.reload()


@pytest.fixture
def proftpd(stack: Any) -> Iterator[Any]:
    svc, menu = stack.service("proftpd"), stack.layout.menu
    before = store.load(menu, "proftpd")
    yield svc
    store.save(menu, "proftpd", before.values, before.version)
    text = svc.render(before.values)["proftpd.conf"]
    atomic_write(svc.config_path("proftpd.conf"), text, mode=0o640, group="root")
    svc.reload()


def test_nginx_body_size_through_the_flow(stack: Any, nginx: Any) -> None:
    menu = stack.layout.menu
    assert nginx.request("POST", "/static/x", b"x" * 2048).status == 404
    proposal = flow.propose(nginx, NGINX, menu, {"client_max_body_size": "1k"})
    assert any(
        line.startswith("+") and "client_max_body_size 1k;" in line
        for line in proposal.file_diffs["nginx.conf"].splitlines()
    )
    outcome = flow.apply(nginx, NGINX, menu, proposal)
    assert outcome.applied, outcome.reason
    assert nginx.request("POST", "/static/x", b"x" * 2048).status == 413
    # back through the flow: version 0's values
    back = flow.propose(nginx, NGINX, menu, store.load_version(menu, "nginx", 0), replace_all=True)
    assert flow.apply(nginx, NGINX, menu, back).applied
    assert nginx.request("POST", "/static/x", b"x" * 2048).status == 404


def test_nginx_refuses_a_bad_value_before_anything_changes(stack: Any, nginx: Any) -> None:
    text = nginx.config_path("nginx.conf").read_bytes()
    with pytest.raises(flow.ChangeRefused):
        flow.propose(nginx, NGINX, stack.layout.menu, {"client_max_body_size": "1k; root /"})
    with pytest.raises(flow.ChangeRefused):
        flow.propose(nginx, NGINX, stack.layout.menu, {"ssl_certificate": "/root/.ssh/id_rsa"})
    assert nginx.config_path("nginx.conf").read_bytes() == text


def test_proftpd_server_name_through_the_flow(stack: Any, proftpd: Any) -> None:
    menu = stack.layout.menu
    outcome = flow.apply(
        proftpd, PROFTPD, menu, flow.propose(proftpd, PROFTPD, menu, {"ServerName": "Free busy"})
    )
    assert outcome.applied, outcome.reason
    with ftplib.FTP(timeout=10) as client:  # noqa: S321 - the loopback server under test
        assert client.connect("127.0.0.1", proftpd.port()).startswith("220 Free busy")
    assert (proftpd.config_path("proftpd.conf").stat().st_mode & 0o777) == 0o640


def test_proftpd_wrong_bind_password_is_rolled_back(stack: Any, proftpd: Any) -> None:
    menu = stack.layout.menu
    text = proftpd.config_path("proftpd.conf").read_bytes()
    proposal = flow.propose(proftpd, PROFTPD, menu, {"LDAPBindPassword": "Not-the-password-1"})
    assert "Not-the-password-1" not in "".join(proposal.file_diffs.values())
    outcome = flow.apply(proftpd, PROFTPD, menu, proposal)
    assert not outcome.applied and "Invalid credentials" in outcome.reason
    assert "Not-the-password-1" not in outcome.reason
    assert proftpd.config_path("proftpd.conf").read_bytes() == text
