"""Account reads every menu needs: an account entry by DN, and whether a login name or address is free."""

from __future__ import annotations

from mailadmin.directory import dit
from mailadmin.directory.entries import Entry, is_account
from mailadmin.directory.errors import DirectoryConflict, DirectoryNotFound
from mailadmin.directory.search import filter_eq, filter_or, get_entry, search


def get_account(dn: str, *extra: str) -> Entry:
    """The account (user, resource, console-only administrator) at `dn` with objectClass, uid, mail and the
    `extra` attributes; DirectoryNotFound for anything else (a contact, a container, nothing)."""
    entry = get_entry(dn, ["objectClass", "uid", "mail", *extra])
    if entry is None or not is_account(entry):
        raise DirectoryNotFound(f"There is no account {dn}.")
    return entry


def preflight_unique(uid: str, mail: str | None, *, exclude_dn: str | None = None) -> None:
    """Friendly refusal of a taken login name or address (slapd's unique overlay is the guarantee, but it
    does not compare `mail` with `mailAlias`)."""
    wanted = [filter_eq("uid", uid)] if uid else []
    if mail:
        wanted += [filter_eq("mail", mail), filter_eq("mailAlias", mail)]
    if not wanted:
        return
    for entry in search(dit.base_dn(), filter_or(*wanted), ["uid", "mail", "mailAlias"], limit=10):
        if exclude_dn and dit.same_dn(entry.dn, exclude_dn):
            continue
        if uid and entry.first("uid") == uid:
            raise DirectoryConflict(
                f"The login name {uid} is already taken (login names are unique on the server)."
            )
        raise DirectoryConflict(f"The address {mail} is already used by another account or alias.")
