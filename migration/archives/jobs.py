"""The job "Import mail archive": the upload in the import's directory into the user's mailbox.

Thin: who is acting is read again from the directory, and must still be allowed to fill this mailbox; the
archive is opened by kind (an mbox as it is, zip and tar checked then unpacked, PST through readpst); the
messages go through `MailImport`. Progress counts KiB of the archive's mail files; Cancel is looked at
between two messages. The import's directory is removed at the end, whatever happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from mailadmin.imap import owner_session
from mailadmin.jobs.services import JobContext, actor_for_job, job_kind
from migration.archives import pst
from migration.archives.importer import Hooks, MailImport
from migration.archives.readers import ArchiveMessage, Source, classify, read_sources
from migration.archives.safety import ArchiveRefused, Kind, Limits, Member, unpack
from migration.archives.selectors import KIND, import_target
from migration.archives.services import UPLOAD, import_dir


def open_archive(
    archive: Path, kind: Kind, work: Path, *, name: str, say: Any
) -> tuple[Iterator[ArchiveMessage], int]:
    """The archive's messages (one at a time) and the bytes of mail files they come from."""
    limits = Limits.from_settings()
    limit = int(settings.MAIL_IMPORT_MAX_MESSAGE)
    if kind is Kind.MBOX:
        sources = [Source("mbox", (), Member((name,), archive, archive.stat().st_size))]
    else:
        if kind is Kind.PST:
            out = pst.run_readpst(archive, work, max_output=limits.max_expanded)
            members = pst.tree_members(out)
        else:
            unpacked = work / "unpacked"
            unpacked.mkdir(mode=0o700)
            members = unpack(archive, kind, unpacked, limits)
            archive.unlink()  # the unpacked copy is all the import needs now
        sources, ignored = classify(members, pst=kind is Kind.PST)
        folders = len({s.folder for s in sources})
        say(f"{len(sources)} mail file(s) in {folders} folder(s); {len(ignored)} other file(s) left aside.")
        for member in ignored[:20]:
            say(f"Not mail, left aside: {'/'.join(member.parts)[:200]}")
    if not sources:
        raise ArchiveRefused("The archive holds no mail this import can read (mbox, Maildir, .eml or PST).")
    return read_sources(sources, limit=limit), sum(s.member.size for s in sources)


@job_kind(KIND, "Import mail archive")
def mail_import(ctx: JobContext) -> dict[str, Any]:
    params = ctx.job.params if isinstance(ctx.job.params, dict) else {}
    work = import_dir(str(params.get("token")))
    try:
        actor = actor_for_job(ctx.job.created_by, ctx.job.created_by_dn)
        target = import_target(actor=actor, dn=str(params.get("dn", "")))
        if target is None or target.uid != params.get("uid"):
            raise ArchiveRefused("You may no longer import mail into this mailbox.")
        kind = Kind(str(params.get("kind")))
        into = tuple(str(p) for p in params.get("into") or ())
        name = str(params.get("filename") or "archive")
        kib = int(params.get("size") or 0) // 1024
        ctx.log(f"{name} ({kind.value}, {kib} KiB) into the mailbox of {target.uid}")
        archive = work / UPLOAD
        if not archive.is_file():
            raise ArchiveRefused("The uploaded archive is gone (was the import started twice?).")
        with owner_session(target.uid) as mailbox:
            messages, total = open_archive(archive, kind, work, name=name, say=ctx.log)
            ctx.progress(0, max(1, total // 1024))
            hooks = Hooks(
                progress=lambda done: ctx.progress(done // 1024),
                check_cancel=ctx.check_cancel,
                log=ctx.log,
            )
            importer = MailImport(mailbox, into=into, hooks=hooks)
            tally = importer.run(messages)
        ctx.progress(max(1, total // 1024))
        for folder in tally.created:
            ctx.log(f"Created the folder {folder}.")
        ctx.log(f"Done: {tally.summary()}")
        return tally.as_json()
    finally:
        pst.remove_tree(work)
