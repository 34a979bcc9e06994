"""Backups made against the running daemons: what goes into the file is what slapd and Cyrus hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backup import archive, making

pytestmark = [pytest.mark.django_db(transaction=True)]


def _members(path: Path) -> dict[str, archive.Entry]:
    out = {}
    for entry in archive.entries(path, making.limits()):
        out[entry.name] = archive.Entry(entry.name, entry.size, entry.mtime, entry.pax)
        if entry.name.endswith(".json") and entry.fileobj is not None:
            out[entry.name].fileobj = None
            out[entry.name].pax["body"] = entry.fileobj.read().decode()
    return out


def test_mail_backup_of_one_user_holds_folders_flags_and_dates(backup_dir: Path, mail_user: str) -> None:
    path, manifest = making.make("mail", compression="zstd", users=[mail_user])
    assert path.parent == backup_dir and path.name.startswith("mail_")
    assert path.name.endswith(f"_{mail_user}.tar.zst")
    assert archive.inspect(path, making.limits()).data["users"] == manifest["users"]
    members = _members(path)
    listing = json.loads(members[f"mail/{mail_user}/mailbox.json"].pax["body"])
    paths = {tuple(f["path"]): f["n"] for f in listing["folders"]}
    assert {(), ("Projects",), ("Projects", "2019")} <= set(paths)
    inbox = [m for n, m in members.items() if n.startswith(f"mail/{mail_user}/{paths[()]}/")]
    assert len(inbox) == 5
    seen = sorted(m.pax.get(archive.PAX_FLAGS, "") for m in inbox)
    assert seen.count("\\Seen") + seen.count("\\Flagged \\Seen") == 3  # the owner's \Seen, not the admin's
    assert manifest["counts"]["messages"] == 7 and manifest["versions"]["slapd"]


def test_ldap_backup_is_a_slapcat_with_config(backup_dir: Path, mail_user: str) -> None:
    path, manifest = making.make("ldap", compression="gzip")
    assert path.name.startswith("ldap_") and path.name.endswith(".tar.gz")
    members = _members(path)
    assert {"ldap/data.ldif", "ldap/config.ldif", "manifest.json"} == set(members)
    assert manifest["counts"]["entries"] > 5


def test_domain_set_holds_subtree_and_mailboxes(backup_dir: Path, mail_user: str, domain: str) -> None:
    path, manifest = making.make("domain", compression="xz", domain=domain)
    assert path.name.startswith("domain_") and domain in path.name
    assert manifest["users"] == {mail_user: domain}
    names = set(_members(path))
    assert "ldap/domain.ldif" in names and f"mail/{mail_user}/mailbox.json" in names


def test_config_backup_holds_every_service(backup_dir: Path, stack: Any) -> None:
    path, _manifest = making.make("cfg", compression="zstd")
    names = set(_members(path))
    assert {"config/files/postfix/main.cf", "config/values/cyrus.json", "config/console.json"} <= names
