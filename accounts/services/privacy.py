"""Private containers (ACC-03): "Make private from rest of directory" on a domain, organization or group.

The flag is `mailPrivate: TRUE` on the container entry; slapd enforces it through access rules the console
renders from the flagged containers and writes into cn=config (`mailadmin.directory.acl`): members inside
see each other and public entries; outsiders see nothing of the container; the daemons' bind accounts and the
console's manager see everything, so mail delivery and logins keep working. docs/decisions/0004.
"""

from __future__ import annotations

from accounts.services.journal import Data, Journal, Step, covered, journal_kind
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.audit.services import audited
from mailadmin.directory import DirectoryError, DirectoryNotFound, acl, dit

# Concurrent changes converge within a few rounds (each writer re-reads the flags after writing the rules);
# more rounds than this means something keeps changing them.
SYNC_ROUNDS = 5


def _container(dn: str) -> directory.Entry:
    entry = directory.get_entry(dn, ["objectClass", "mailPrivate"]) if dit.domain_of(dn) else None
    if entry is None or not (entry.has_object_class("mailDomain") or entry.has_object_class("mailContainer")):
        raise DirectoryNotFound(f"There is no domain, organization or group {dn}.")
    return entry


def _sync() -> bool:
    """Write the rules for the flags as they are now; True if slapd's list changed.

    Two console processes may change flags at once, and the later write of the rules may carry the older set.
    So after writing, read the flags again: if they moved, write again. Whoever writes last has re-read the
    flags after every other writer's flag change, so the final list is the right one.
    """
    changed = False
    for _ in range(SYNC_ROUNDS):
        wanted = acl.private_containers()
        changed = acl.access_apply(wanted) or changed
        if acl.private_containers() == wanted:
            return changed
    raise DirectoryError("The private containers kept changing while their access rules were written.")


def _rules_with(data: Data, _actor: Actor) -> None:
    acl.access_apply([*acl.private_containers(), data["dn"]])


def _rules_from_flags(_data: Data, _actor: Actor) -> None:
    _sync()


def _flag_set(data: Data, _actor: Actor) -> None:
    _put_flag(data["dn"], bool(data["private"]))


def _flag_restored(data: Data, _actor: Actor) -> None:
    _put_flag(data["dn"], data["before"] == "TRUE")


def _put_flag(dn: str, private: bool) -> None:
    """Set the flag in the safe order (see container_set_private) and bring the rules in line."""
    if private:
        acl.access_apply([*acl.private_containers(), dn])
    directory.modify(dn, [directory.replace("mailPrivate", True if private else None)])
    _sync()


CONTAINER_SET_PRIVATE = journal_kind(
    "container_set_private",
    {
        "rules": Step(redo=_rules_with, undo=_rules_from_flags),
        "flag": Step(redo=_flag_set, undo=_flag_restored),
        "sync": Step(redo=_rules_from_flags, undo=covered),
    },
    rerun_completes=True,
)


def container_set_private(*, actor: Actor, dn: str, private: bool) -> None:
    """Set or clear "Make private from rest of directory" and make slapd enforce it at once.

    Making private: the rules are written first (with this container added), then the flag, so there is no
    moment where the flag says private and slapd shows the container to everyone. Making public: the flag
    first, then the rules (the container stays hidden a moment longer, never the reverse). Journaled: a
    failed flag rewrites the rules from the flags again; a crash leaves a row the drift check finishes.
    """
    entry = _container(dn)
    before = entry.get("mailPrivate")
    target = entry.dn  # the server's spelling
    data = {"dn": target, "private": private, "before": before}
    steps = ["rules", "flag", "sync"] if private else ["flag", "sync"]

    def work() -> None:
        with Journal.begin(actor, CONTAINER_SET_PRIVATE, target, steps, data) as journal:
            if private:
                journal.step("rules", lambda: _rules_with(data, actor))
            journal.step(
                "flag", lambda: directory.modify(target, [directory.replace("mailPrivate", private or None)])
            )
            journal.step("sync", _sync)

    audited(
        actor, "container_set_private", target, {"mailPrivate": private}, work, before={"mailPrivate": before}
    )


def private_containers_sync(*, actor: Actor) -> bool:
    """Rewrite slapd's rules from the flags; True if anything changed.

    Call it after renaming, moving or deleting a domain, organization or group: a rule names its container by
    DN, so a private container that moved would otherwise be visible to everyone at its new place.
    """
    after: dict[str, object] = {}

    def work() -> None:
        # filled in here: the audit row is written after `work`, with what it found
        after["changed"] = _sync()
        after["private_containers"] = len(acl.private_containers())

    audited(actor, "private_containers_sync", dit.domains_dn(), after, work)
    return bool(after["changed"])


def private_containers_prepare_move(*, dn: str, new_dn: str) -> None:
    """Call BEFORE renaming or moving `dn` to `new_dn` (then `private_containers_sync` after it).

    Adds rules for the new place of every private container at or below `dn`, so that the moved entries are
    hidden at their new DN from the first moment; the sync afterwards drops the rules of the old place. Not
    audited: it only widens what is hidden, and the move and the sync write their own rows.
    """
    if not (dit.valid_dn(dn) and dit.valid_dn(new_dn)):
        raise DirectoryNotFound(f"There is no entry {dn}.")
    private = acl.private_containers()
    arriving = [acl.relocated(p, dn, new_dn) for p in private if dit.is_inside(p, dn)]
    if arriving:
        acl.access_apply([*private, *arriving])


def private_containers_drift() -> directory.AccessState:
    """The live access rules next to the ones the flags call for (`.in_sync`), for reconcile."""
    return directory.access_state()
