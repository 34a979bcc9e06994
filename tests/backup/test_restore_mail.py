"""Mail restores through the real worker: into a `Restored <date>` folder or in place, proven over IMAP as
the user's own client sees the mailbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backup import catalogue, making, services
from backup.models import Backup
from mailadmin.jobs.services import actor_for_job
from tests.accounts.usertool import user_imap
from tests.backup.backuptool import job_result, mailbox_view
from tests.conftest import PASSWORD
from tests.jobtool import wait_finished

pytestmark = [pytest.mark.django_db(transaction=True)]


def _admin(personas: Any) -> Any:
    return actor_for_job(personas.admin.uid, personas.admin.dn)


def _backup(uid: str) -> Backup:
    path, manifest = making.make("mail", compression="zstd", users=[uid])
    return catalogue.register(path, manifest, origin=Backup.Origin.MADE, created_by="tests")


def _delete_first_inbox_message(uid: str) -> None:
    with user_imap(uid, PASSWORD) as client:
        client.select_folder("INBOX")
        first = sorted(client.search(["ALL"]))[0]
        client.delete_messages([first])
        client.expunge()


def test_restore_into_a_restored_folder_leaves_the_inbox_alone(
    backup_dir: Path, mail_user: str, personas: Any, worker: None
) -> None:
    before = mailbox_view(mail_user)
    backup = _backup(mail_user)
    _delete_first_inbox_message(mail_user)
    inbox_after_delete = mailbox_view(mail_user)["INBOX"]
    job = wait_finished(
        str(services.start_restore(_admin(personas), backup, users=[mail_user], mode="folder").pk)
    )
    assert job.state == "succeeded", job.error
    view = mailbox_view(mail_user)
    restored = [f for f in view if f.startswith("INBOX/Restored ")]
    top = min(restored, key=len)
    assert view["INBOX"] == inbox_after_delete  # nothing current touched
    assert view[top] == before["INBOX"]  # every message back, with its flags and internal date
    assert view[f"{top}/Projects/2019"] == before["INBOX/Projects/2019"]
    assert not list(backup_dir.glob(".restore-*"))


def test_restore_in_place_adds_back_only_what_is_missing(
    backup_dir: Path, mail_user: str, personas: Any, worker: None
) -> None:
    before = mailbox_view(mail_user)
    backup = _backup(mail_user)
    _delete_first_inbox_message(mail_user)
    job = wait_finished(
        str(services.start_restore(_admin(personas), backup, users=[mail_user], mode="in_place").pk)
    )
    assert job.state == "succeeded", job.error
    assert mailbox_view(mail_user) == before
    assert job_result(job)["mail"][mail_user] == {"added": 1, "duplicates": 6, "refused": 0}
    # again: nothing twice
    job = wait_finished(
        str(services.start_restore(_admin(personas), backup, users=[mail_user], mode="in_place").pk)
    )
    assert job_result(job)["mail"][mail_user]["added"] == 0 and mailbox_view(mail_user) == before
