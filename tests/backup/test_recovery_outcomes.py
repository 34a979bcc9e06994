"""Reading what reconstruct prints (mailadmin.cyrus.reconstruct_outcomes), on lines copied from Cyrus 3.6:
the folder names it prints when a folder is done, its repair notes naming folders the internal way, and the
error line of a folder it could not rebuild. The real tool's output is checked in test_recovery_cyrus.py."""

from __future__ import annotations

from mailadmin.cyrus import FolderOutcome, external_name, reconstruct_outcomes


def test_done_folders_with_notes_are_repaired_the_others_ok() -> None:
    lines = [
        "user.j^doe: failed to read index header",
        "user.j^doe uid 1 found - adding",
        "Wrong uidvalidity in mbentry, fixing user.j^doe (1796618423 -> 1796618430)",
        "user/j.doe",
        "user/j.doe/Sent Items",
        "user.j^doe.Sent Items.Old uid 4 found - adding",
        "user/j.doe/Sent Items/Old",
    ]
    outcomes = reconstruct_outcomes("user/j.doe", lines)
    assert [(o.folder, o.outcome, len(o.lines)) for o in outcomes] == [
        ("user/j.doe", "repaired", 3),
        ("user/j.doe/Sent Items", "ok", 0),
        ("user/j.doe/Sent Items/Old", "repaired", 1),
    ]


def test_a_folder_without_its_done_line_failed_with_the_reason() -> None:
    lines = [
        "user/bob",
        "user/bob/x/y",
        "user.bob.x: failed to read index header",
        "user.bob.x: System I/O error",
    ]
    outcomes = reconstruct_outcomes("user/bob", lines)
    assert outcomes[-1] == FolderOutcome(
        "user/bob/x", "failed", ("user.bob.x: failed to read index header", "user.bob.x: System I/O error")
    )
    assert [o.outcome for o in outcomes[:2]] == ["ok", "ok"]


def test_nothing_printed_means_no_such_mailbox() -> None:
    assert reconstruct_outcomes("user/nobody", []) == [FolderOutcome("user/nobody", "missing")]


def test_a_similar_name_is_not_taken_for_the_folder() -> None:
    lines = ["user/ann", "user.anna uid 1 found - adding", "user.ann.Sent: failed to read index header"]
    outcomes = {o.folder: o for o in reconstruct_outcomes("user/ann", lines)}
    assert outcomes["user/ann"].lines == ("user.anna uid 1 found - adding",)  # no folder of ann: the root's
    assert outcomes["user/ann/Sent"].outcome == "failed"


def test_internal_names_become_the_slash_form() -> None:
    assert external_name("user.j^doe.Sent") == "user/j.doe/Sent"
    assert external_name("shared.support") == "shared/support"
