"""Mail archives into real Cyrus mailboxes through the page and a real Celery worker, checked the way the
user's own mail client sees the mailbox (IMAP as the user): folders, counts, flags, internal dates, and
nothing added twice when the same archive is imported again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from mailadmin.jobs.models import Job
from tests.conftest import Persona, Personas
from tests.migration.archivetool import (
    BASE,
    FIXTURES,
    admin_url,
    expected_flags,
    folder_names,
    imported,
    mailbox,
    make_user,
    mbox,
    message,
    tar_gz,
    upload,
    zip_of,
)

Login = Callable[[Persona], Client]
pytestmark = pytest.mark.django_db(transaction=True)


def _left_over() -> list[Path]:
    root = Path(settings.MAIL_IMPORT_DIR)
    return list(root.iterdir()) if root.exists() else []


def test_an_mbox_lands_in_the_inbox_with_flags_and_dates_and_twice_adds_nothing(
    worker: None, personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("mbox"), folders=False)
    admin = login(personas.admin)
    data = mbox(300)
    job = imported(upload(admin, admin_url(user.dn), "archive.mbox", data))
    assert job.state == Job.State.SUCCEEDED, (job.error, [line.text for line in job.lines.all()])
    assert job.result == {
        "added": 300,
        "duplicates": 0,
        "refused": 0,
        "folders": {"INBOX": 300},
        "created": [],
    }
    inbox = mailbox(user.uid)["INBOX"]
    assert len(inbox) == 300
    for seen in inbox:
        n = int(seen.subject.split()[-1])
        assert seen.flags == expected_flags(n), (n, seen.flags)
        assert seen.internal == BASE + timedelta(hours=n), (n, seen.internal)
    body_line = [s for s in inbox if s.subject == "msg 3"]
    assert len(body_line) == 1 and body_line[0].size > len(message(3))  # the From line stayed in its body
    assert not _left_over()

    again = imported(upload(admin, admin_url(user.dn), "archive.mbox", data))
    assert again.state == Job.State.SUCCEEDED
    assert again.result is not None and again.result["added"] == 0 and again.result["duplicates"] == 300
    assert len(mailbox(user.uid)["INBOX"]) == 300


def test_a_maildir_tree_in_a_tar_keeps_its_folders_and_flags(
    worker: None, personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("maildir"))  # with the standard folders: "Sent Items" is \Sent
    stamp = int(BASE.timestamp())
    files = {
        f"Maildir/cur/{stamp}.M1P1.host:2,S": message(1),
        f"Maildir/new/{stamp + 60}.M2P2.host": message(2),
        f"Maildir/.Sent/cur/{stamp + 120}.M3P3.host:2,RS": message(3),
        f"Maildir/.Work.Clients/cur/{stamp + 180}.M4P4.host:2,FS": message(4),
        f"Maildir/.Work.Clients/cur/{stamp + 240}.M5P5.host:2,": message(5, with_id=False),
        "Maildir/dovecot-uidlist": b"3 V1 N1\n",
    }
    admin = login(personas.admin)
    job = imported(upload(admin, admin_url(user.dn), "mail.tar.gz", tar_gz(files)))
    assert job.state == Job.State.SUCCEEDED, (job.error, [line.text for line in job.lines.all()])
    box = mailbox(user.uid)
    assert {s.subject: s.flags for s in box["INBOX"]} == {"msg 1": {"\\Seen"}, "msg 2": set()}
    assert [(s.subject, s.flags) for s in box["INBOX/Sent Items"]] == [("msg 3", {"\\Seen", "\\Answered"})]
    clients = {s.subject: (s.flags, s.internal) for s in box["INBOX/Work/Clients"]}
    assert clients == {
        "msg 4": ({"\\Seen", "\\Flagged"}, BASE + timedelta(seconds=180)),
        "msg 5": (set(), BASE + timedelta(seconds=240)),
    }
    assert "INBOX/Sent" not in box and "\\Sent" in folder_names(user.uid)["INBOX/Sent Items"]
    again = imported(upload(admin, admin_url(user.dn), "mail.tar.gz", tar_gz(files)))
    assert again.result is not None and (again.result["added"], again.result["duplicates"]) == (0, 5)


def test_eml_files_in_a_zip_become_folders_by_their_path(
    worker: None, personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("eml"), folders=False)
    files = {
        "Inbox/1.eml": message(1),
        "Projects/Ærø 2019/2.eml": message(2),
        "Projects/Ærø 2019/3.eml": message(3),
        "Odd;name|here/4.eml": message(4),
        "notes.txt": b"not mail",
    }
    nul = message(5).replace(b"Body", b"B\0dy")  # Cyrus refuses NUL bytes: logged, the rest goes on
    files["Projects/5.eml"] = nul
    job = imported(
        upload(login(personas.admin), admin_url(user.dn), "mail.zip", zip_of(files), into="Old mail")
    )
    assert job.state == Job.State.SUCCEEDED, (job.error, [line.text for line in job.lines.all()])
    assert job.result is not None and (job.result["added"], job.result["refused"]) == (4, 1)
    lines = [line.text for line in job.lines.all()]
    assert any("Refused Projects/5.eml" in line and "NUL" in line for line in lines), lines
    box = mailbox(user.uid)
    assert [s.subject for s in box["INBOX/Old mail"]] == ["msg 1"]  # the archive's Inbox, below "Old mail"
    assert sorted(s.subject for s in box["INBOX/Old mail/Projects/Ærø 2019"]) == ["msg 2", "msg 3"]
    assert [s.subject for s in box["INBOX/Old mail/Odd_name_here"]] == ["msg 4"]
    assert box["INBOX/Old mail/Projects"] == []


def test_a_pst_file_through_readpst(
    worker: None, personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("pst"), folders=False)
    data = (FIXTURES / "enron.pst").read_bytes()
    admin = login(personas.admin)
    job = imported(upload(admin, admin_url(user.dn), "outlook.pst", data))
    assert job.state == Job.State.SUCCEEDED, (job.error, [line.text for line in job.lines.all()])
    top = "INBOX/lokay-m/MLOKAY (Non-Privileged)"  # the store's root folder ("Personal folders") is dropped
    counts = {name: len(seen) for name, seen in mailbox(user.uid).items() if seen}
    assert counts == {
        top: 1,
        f"{top}/Personal": 47,
        f"{top}/Sent Items": 2,
        f"{top}/Systems": 7,
        f"{top}/TW-Commercial Group": 14,
    }
    assert job.result is not None and job.result["added"] == 71
    again = imported(upload(admin, admin_url(user.dn), "outlook.pst", data))
    assert again.result is not None and (again.result["added"], again.result["duplicates"]) == (0, 71)
    assert not _left_over()


def test_a_user_imports_their_own_archive(
    worker: None, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("self"), folders=False)
    client = login(user)
    assert "Import my mail archive" in client.get("/tools/archives/mine/").content.decode()
    response = upload(client, "/tools/archives/mine/", "mine.mbox", mbox(20))
    assert response["Location"].startswith("/tools/archives/mine/")
    job = imported(response)
    assert job.state == Job.State.SUCCEEDED, job.error
    page = client.get(response["Location"]).content.decode()
    assert "20 message(s) added, 0 already there, 0 refused." in page
    assert Counter(s.subject.split()[0] for s in mailbox(user.uid)["INBOX"]) == {"msg": 20}
    assert "mine.mbox" in client.get("/tools/archives/mine/").content.decode()


def test_hostile_archives_are_refused_and_leave_the_mailbox_alone(
    worker: None, personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    user = make_user(domain, unique("hostile"), folders=False)
    admin = login(personas.admin)
    bomb = zip_of({"Inbox/1.eml": message(1), "Inbox/2.eml": b"\0" * (40 * 1024 * 1024)})
    climbing = tar_gz({"Maildir/cur/1:2,S": message(1), "../../etc/cron.d/x": b"* * * * * root id\n"})
    for name, data, words in (
        ("bomb.zip", bomb, "zip bomb"),
        ("evil.tar.gz", climbing, "points outside the archive"),
        ("empty.zip", zip_of({"readme.txt": b"hello"}), "holds no mail"),
    ):
        job = imported(upload(admin, admin_url(user.dn), name, data))
        assert job.state == Job.State.FAILED and words in job.error, (name, job.error)
    assert mailbox(user.uid) == {"INBOX": []}
    assert not _left_over()
    assert not Path(settings.MAIL_IMPORT_DIR).parent.joinpath("etc").exists()
