"""Directory restores through the real worker: a deleted domain comes back whole from its per-domain set
(its users log in with their old passwords, find their mail, and Postfix delivers to them), and the whole
directory is swapped in from an LDAP set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts import services as accounts
from backup import catalogue, making, services
from backup.models import Backup
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.directory import dit
from mailadmin.jobs.services import actor_for_job
from tests.accounts.usertool import deliver, user_imap, wait_for_messages
from tests.backup.backuptool import job_result, mailbox_view
from tests.conftest import PASSWORD
from tests.jobtool import wait_finished
from tests.migration.archivetool import make_user

pytestmark = [pytest.mark.django_db(transaction=True)]


def _admin(personas: Any) -> Any:
    return actor_for_job(personas.admin.uid, personas.admin.dn)


def _set(what: str, **kw: Any) -> Backup:
    path, manifest = making.make(what, compression="zstd", **kw)
    return catalogue.register(path, manifest, origin=Backup.Origin.MADE, created_by="tests")


def _can_login(uid: str) -> bool:
    try:
        with user_imap(uid, PASSWORD):
            return True
    except Exception:
        return False


def test_deleted_domain_comes_back_from_its_set(
    backup_dir: Path, domain: str, mail_user: str, personas: Any, worker: None
) -> None:
    before = mailbox_view(mail_user)
    user_dn = dit.account_dn(dit.organization_dn(domain, domain), mail_user)
    address = directory.get_entry(user_dn, ["mail"]).first("mail")  # type: ignore[union-attr]
    backup = _set("domain", domain=domain)
    accounts.user_delete(actor=Actor.system("tests"), dn=user_dn, delete_mailbox=True)
    directory.delete_subtree(dit.domain_dn(domain))
    assert not directory.exists(dit.domain_dn(domain)) and not _can_login(mail_user)

    job = wait_finished(str(services.start_restore(_admin(personas), backup, users=[], mode="in_place").pk))
    assert job.state == "succeeded", job.error
    assert job_result(job)["directory"]["added"] >= 3
    assert _can_login(mail_user)  # the old password (its hash came back)
    assert mailbox_view(mail_user) == before
    deliver(address, "after the restore")
    wait_for_messages(mail_user, PASSWORD, len(before["INBOX"]) + 1)


def test_domain_restore_refuses_an_entry_outside_the_domain_and_changes_nothing(
    backup_dir: Path, domain: str, personas: Any, worker: None, tmp_path: Path
) -> None:
    from mailadmin.directory import subtree

    ldif = tmp_path / "domain.ldif"
    top = dit.domain_dn(domain)
    ldif.write_text(
        f"dn: {top}\nobjectClass: domain\ndc: {domain}\n\ndn: uid=evil,{dit.domains_dn()}\n"
        "objectClass: account\nuid: evil\n\n"
    )
    with pytest.raises(subtree.SubtreeRefused, match="not inside"):
        subtree.plan(ldif, top)
    ldif.write_text(f"dn: {top}\nobjectClass: domain\ndc: {domain}\nuserPassword: clear-text\n\n")
    with pytest.raises(subtree.SubtreeRefused, match="not a hash"):
        subtree.plan(ldif, top)
    ldif.write_text(f"dn: {top}\nobjectClass: domain\ndc: {domain}\ndescription:< file:///etc/shadow\n\n")
    with pytest.raises(subtree.SubtreeRefused, match="not fetched"):
        subtree.plan(ldif, top)


def test_whole_directory_is_swapped_in(
    backup_dir: Path, domain: str, unique: Any, personas: Any, worker: None
) -> None:
    kept = make_user(domain, unique("keep"))
    backup = _set("ldap")
    directory.delete(kept.dn)
    later = make_user(domain, unique("late"))
    assert not _can_login(kept.uid)

    job = wait_finished(str(services.start_restore(_admin(personas), backup).pk), timeout=180)
    assert job.state == "succeeded", job.error
    assert job_result(job)["directory"]["down_seconds"] < 10
    assert directory.exists(kept.dn) and not directory.exists(later.dn)
    assert _can_login(kept.uid) and _can_login(personas.user.uid)
    imap.mailbox_delete(later.uid)  # its mailbox outlived its entry
