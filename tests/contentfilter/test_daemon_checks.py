"""What amavisd and the stack check themselves: amavisd's own test-config refuses a broken staged file (the
page shows its words), the children's count reaches Postfix's main.cf, and the local domains follow the
hosted domains as they are made and deleted."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from accounts import services
from accounts.services import containers
from mailadmin.actor import Actor
from mailadmin.configfiles import store
from mailadmin.directory import dit
from mailadmin.stack import StackError
from tests.contentfilter import cftool


def test_amavisd_refuses_a_broken_staged_file(stack: Any, tmp_path: Path) -> None:
    svc = stack.service("amavis")
    staging = tmp_path / "staging"
    staging.mkdir()
    text = svc.config_path("amavisd.conf").read_text(encoding="utf-8")
    (staging / "amavisd.conf").write_text(text.replace("$log_level = ", "$log_level = ;"), encoding="utf-8")
    with pytest.raises(StackError, match="amavisd refuses the configuration"):
        svc.validate_dir(staging)
    shutil.copy(svc.config_path("amavisd.conf"), staging / "amavisd.conf")
    svc.validate_dir(staging)  # the running file passes the same check


def test_children_count_reaches_amavisd_and_postfix(stack: Any) -> None:
    before = store.values(stack.layout.menu, "amavis")
    try:
        cftool.apply(stack, {"max_servers": "3"})
        conf = stack.service("amavis").config_path("amavisd.conf").read_text(encoding="utf-8")
        assert "$max_servers = 3;" in conf
        main_cf = stack.service("postfix").config_path("main.cf").read_text(encoding="utf-8")
        assert "\nsmtp-amavis_destination_concurrency_limit = 3\n" in main_cf
    finally:
        cftool.restore(stack, before)


@pytest.mark.django_db
def test_local_domains_follow_domains_made_and_deleted(stack: Any) -> None:
    local = stack.service("amavis").domains_file
    name = "cf-follow.test"
    actor = Actor.system("tests")
    services.domain_create(actor=actor, name=name)
    assert name in local.read_text(encoding="utf-8").split()
    containers.container_delete(actor=actor, dn=dit.domain_dn(name))
    assert name not in local.read_text(encoding="utf-8").split()
