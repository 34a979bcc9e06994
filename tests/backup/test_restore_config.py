"""A configuration set restored through the Configuration menu's change flow: the daemon validates, applies
and smoke-tests it, and a set the daemon refuses changes nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from backup import archive, catalogue, making, services
from backup.models import Backup
from configuration import services as config
from configuration.models import ConfigChange
from mailadmin.jobs.services import actor_for_job
from tests.configuration.conftest import ehlo_size
from tests.jobtool import wait_finished

pytestmark = [pytest.mark.django_db(transaction=True)]


def _set() -> Backup:
    path, manifest = making.make("cfg", compression="zstd")
    return catalogue.register(path, manifest, origin=Backup.Origin.MADE, created_by="tests")


def test_configuration_comes_back_through_the_change_flow(
    backup_dir: Path, personas: Any, worker: None, postfix_restored: Any
) -> None:

    actor = actor_for_job(personas.admin.uid, personas.admin.dn)
    port = int(os.environ["SMTP_PORT"])
    before = ehlo_size(port)
    backup = _set()
    pending = config.propose("postfix", {"message_size_limit": "12345678"})
    outcome, _row = config.apply(actor, "postfix", pending.token)
    assert outcome.applied and ehlo_size(port) == "12345678"

    job = wait_finished(str(services.start_restore(actor, backup).pk), timeout=120)
    assert job.state == "succeeded", job.error
    assert ehlo_size(port) == before
    assert ConfigChange.objects.filter(service="postfix", kind="backup restore", outcome="applied").exists()


def test_a_set_with_values_the_daemon_refuses_changes_nothing(
    backup_dir: Path, personas: Any, worker: None, postfix_restored: Any
) -> None:

    actor = actor_for_job(personas.admin.uid, personas.admin.dn)
    port = int(os.environ["SMTP_PORT"])
    before = ehlo_size(port)
    with archive.Writer(backup_dir, "cfg_20200101_000000_bad.tar.zst", "zstd") as writer:
        values = {"version": 1, "values": {"message_size_limit": "not a number"}}
        writer.add_bytes("config/values/postfix.json", json.dumps(values).encode())
        path = writer.commit({"kind": "cfg", "created": "2020-01-01T00:00:00+00:00"})
    manifest = archive.inspect(path, making.limits()).data
    backup = catalogue.register(path, manifest, origin=Backup.Origin.UPLOADED, created_by="tests")
    job = wait_finished(str(services.start_restore(actor, backup).pk), timeout=120)
    assert job.state == "failed" and "message_size_limit" in job.error
    assert ehlo_size(port) == before


def test_relay_rules_and_disclaimers_come_back(backup_dir: Path, personas: Any, worker: None) -> None:
    from mailqueue import selectors as delivery
    from mailqueue.relayrules import services as rules

    actor = actor_for_job(personas.admin.uid, personas.admin.dn)
    start = delivery.delivery_settings()
    first = rules.relayrule_create(
        actor=actor, event="ORIGINATOR", pattern="*@spam.example", action="Reject", text="no"
    )
    try:
        backup = _set()
        wanted = delivery.delivery_settings()
        rules.relayrule_delete(actor=actor, rule_id=first.pk)
        rules.relayrule_create(
            actor=actor, event="ORIGINATOR", pattern="*@other.example", action="Reject", text="x"
        )
        job = wait_finished(str(services.start_restore(actor, backup).pk), timeout=120)
        assert job.state == "succeeded", job.error
        assert delivery.delivery_settings()["relay_rules"] == wanted["relay_rules"]
    finally:
        from mailqueue import services as delivery_services

        delivery_services.delivery_settings_replace(
            actor=actor, relay_rules=start["relay_rules"], disclaimers=start["disclaimers"]
        )
