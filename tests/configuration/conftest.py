"""Shared helpers of the Configuration menu's tests: every test leaves the services as it found them."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import pytest

from mailadmin.configfiles import store


def ehlo_size(port: int) -> str:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo("test.invalid")
        return str(smtp.esmtp_features.get("size", ""))


@pytest.fixture
def postfix_restored(stack: Any) -> Iterator[Any]:
    """The stack's Postfix; afterwards its stored values, main.cf and the running daemon are put back."""
    svc = stack.service("postfix")
    menu = stack.layout.menu
    before = store.load(menu, "postfix")
    main_cf = svc.config_path("main.cf").read_text(encoding="utf-8")
    yield svc
    store.save(menu, "postfix", before.values, before.version)
    if svc.config_path("main.cf").read_text(encoding="utf-8") != main_cf:
        from mailadmin.configfiles import atomic_write

        atomic_write(svc.config_path("main.cf"), main_cf, backdate=3)
        svc.reload()


@pytest.fixture
def checks_restored(stack: Any) -> Iterator[Any]:
    """The stack's Postfix; afterwards its stored values, main.cf and the four header/body checks tables are
    put back as they were and Postfix reloaded (the REJECT and HOLD rules of a test must not outlive it)."""
    from mailadmin.configfiles import atomic_write
    from mailadmin.configfiles.postfix.checks import TABLES

    svc = stack.service("postfix")
    menu = stack.layout.menu
    before = store.load(menu, "postfix")
    names = ["main.cf", *(t.file for t in TABLES)]
    files = {name: svc.config_path(name).read_text(encoding="utf-8") for name in names}
    yield svc
    store.save(menu, "postfix", before.values, before.version)
    changed = False
    for name, text in files.items():
        if svc.config_path(name).read_text(encoding="utf-8") != text:
            if name == "main.cf":
                atomic_write(svc.config_path(name), text, backdate=3)
            else:
                atomic_write(svc.config_path(name), text, mode=0o644)
            changed = True
    if changed:
        svc.reload()
