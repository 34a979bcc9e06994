"""The one place that decides "may this person do this verb on this object".

Every view goes through `guard` (who may open the page at all) and then `require` (may this actor do
this to that DN). A refusal on an object is a 404: a domain administrator who guesses the DN of another
domain's user learns nothing, not even that it exists.

Ranks: administrator (3) > domain administrator (2) > group administrator (1) > user (0). Nobody changes
an account that outranks or equals them, except the manual's one case: domain administrators create and
delete the other domain administrators of their own domains (MANAGE_ADMINS on the domain). Among
administrators, the manager account `admin` (ACC-15) is the one that acts on the others' accounts; nobody
deletes the manager or resets its password, and nobody deletes their own account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from mailadmin.actor import Actor
from mailadmin.directory.dit import is_inside, manager_dn, same_dn
from mailadmin.directory.entries import Entry


class Verb(StrEnum):
    VIEW = "view"
    CREATE = "create"  # create an object of `kind` inside the container `dn`
    CHANGE = "change"  # edit the attributes of the object
    DELETE = "delete"
    MOVE = "move"
    SET_QUOTA = "set_quota"
    SET_PASSWORD = "set_password"  # noqa: S105 — a verb, not a secret. An administrator resets someone's password
    CHANGE_OWN_PASSWORD = "change_own_password"  # noqa: S105
    MANAGE_ADMINS = "manage_admins"  # grant/revoke the administrator role of this domain or group
    CONFIGURE = "configure"  # server-wide: configuration, system aliases, tools


class Kind(StrEnum):
    DOMAIN = "domain"
    ORGANIZATION = "organization"
    GROUP = "group"
    USER = "user"
    RESOURCE = "resource"
    CONTACT = "contact"
    ALIAS = "alias"
    SERVER = "server"


def entry_kind(entry: Entry) -> Kind | None:
    """The manual's kind of an entry read with its objectClass; None for what the console does not manage."""
    if entry.has_object_class("mailDomain"):
        return Kind.DOMAIN
    if entry.has_object_class("mailContainer"):
        if entry.has_object_class("organization"):
            return Kind.ORGANIZATION
        if entry.has_object_class("organizationalUnit"):
            return Kind.GROUP
        return None
    if entry.has_object_class("mailContact"):
        return Kind.CONTACT
    if entry.has_object_class("mailResource"):
        return Kind.RESOURCE
    if entry.has_object_class("mailAccount"):
        return Kind.USER
    if entry.has_object_class("nisMailAlias"):
        return Kind.ALIAS
    return None


def account_kind(entry: Entry) -> Kind:
    """The kind of an account (directory.is_account): a resource, or else a user — console-only
    administrators in ou=admins included, which have no mailAccount."""
    return Kind.RESOURCE if entry.has_object_class("mailResource") else Kind.USER


# What each delegated role may create or delete inside its scope (the manual, ACC-13 and ACC-14).
DOMAIN_ADMIN_KINDS = frozenset({Kind.USER, Kind.GROUP, Kind.RESOURCE})
GROUP_ADMIN_KINDS = frozenset({Kind.USER})
# Verbs that act on an account itself (its entry, password, quota, place), checked against its rank.
ACCOUNT_VERBS = frozenset({Verb.CHANGE, Verb.DELETE, Verb.MOVE, Verb.SET_QUOTA, Verb.SET_PASSWORD})


def _administrator_on_administrator(actor: Actor, verb: Verb, dn: str) -> bool:
    """An administrator acting on another administrator's account (equal rank): only the manager may, and
    not on its own account's existence or password, which nobody else may touch either."""
    myself = bool(actor.dn) and same_dn(dn, actor.dn)
    target_is_manager = same_dn(dn, manager_dn())
    i_am_manager = (actor.is_system and not actor.dn) or (bool(actor.dn) and same_dn(actor.dn, manager_dn()))
    if verb is Verb.DELETE:
        return i_am_manager and not target_is_manager and not myself
    if myself:
        return verb is Verb.CHANGE  # one's own name and details; the password through "Change my password"
    return i_am_manager and not target_is_manager


def can(
    actor: Actor,
    verb: Verb,
    dn: str,
    *,
    kind: Kind | None = None,
    target_rank: int = 0,
) -> bool:
    """May `actor` do `verb` on the object `dn` (of `kind`)? `target_rank` is the rank of the account the
    verb touches, when it touches one (see `Roles.rank`)."""
    roles = actor.roles
    if roles.administrator:
        if target_rank >= 3 and verb in ACCOUNT_VERBS:
            return _administrator_on_administrator(actor, verb, dn)
        return True
    if verb is Verb.CONFIGURE or kind is Kind.SERVER:
        return False
    if verb is Verb.CHANGE_OWN_PASSWORD:
        return bool(actor.dn) and same_dn(dn, actor.dn)

    in_domain = any(is_inside(dn, d, strict=True) for d in roles.domains)
    is_domain_entry = any(same_dn(dn, d) for d in roles.domains)
    if in_domain or is_domain_entry:
        if verb is Verb.VIEW:
            return True
        if verb is Verb.MANAGE_ADMINS:
            return is_domain_entry and target_rank <= 2
        if verb is Verb.CREATE:
            return kind in DOMAIN_ADMIN_KINDS
        if is_domain_entry:
            return False  # the domain itself is the administrator's business
        if verb in (Verb.DELETE, Verb.MOVE):
            return kind in DOMAIN_ADMIN_KINDS and target_rank < 2
        if verb in (Verb.CHANGE, Verb.SET_QUOTA, Verb.SET_PASSWORD):
            return kind in (Kind.USER, Kind.RESOURCE) and target_rank < 2
        return False

    in_group = any(is_inside(dn, g) for g in roles.groups)
    if in_group:
        if verb is Verb.VIEW:
            return True
        if verb is Verb.CREATE:
            return kind in GROUP_ADMIN_KINDS
        if verb in (Verb.DELETE, Verb.SET_PASSWORD, Verb.CHANGE):
            return kind is Kind.USER and target_rank < 1 and not any(same_dn(dn, g) for g in roles.groups)
        return False

    # Everyone may look at their own entry.
    return verb is Verb.VIEW and bool(actor.dn) and same_dn(dn, actor.dn)


def require(actor: Actor, verb: Verb, dn: str, *, kind: Kind | None = None, target_rank: int = 0) -> None:
    """Raise 404 unless `can(...)`."""
    if not can(actor, verb, dn, kind=kind, target_rank=target_rank):
        raise Http404("No such object.")


ALIAS_ADMIN_VERBS = frozenset({Verb.VIEW, Verb.CREATE, Verb.CHANGE, Verb.DELETE})
ALIAS_OWNER_VERBS = frozenset({Verb.VIEW, Verb.CHANGE})


def can_alias(actor: Actor, verb: Verb, dn: str, *, owners: Iterable[str] = ()) -> bool:
    """Aliases of a domain (ALI-03; docs/aliases.md): administrators all; domain administrators the aliases
    of their domains (`dn`: the alias, or for CREATE the domain's ou=aliases); an owner (`owners`: the
    alias's mailAliasOwner DNs) may look at and change that alias only (members and flags, not owners),
    whatever their rank. Group administrators have no alias rights of their own: aliases belong to a
    domain, not to a group."""
    if actor.roles.administrator:
        return True
    if verb in ALIAS_ADMIN_VERBS and any(is_inside(dn, d, strict=True) for d in actor.roles.domains):
        return True
    return verb in ALIAS_OWNER_VERBS and bool(actor.dn) and any(same_dn(o, actor.dn) for o in owners)


def require_alias(actor: Actor, verb: Verb, dn: str, *, owners: Iterable[str] = ()) -> None:
    """Raise 404 unless `can_alias(...)`."""
    if not can_alias(actor, verb, dn, owners=owners):
        raise Http404("No such alias.")


# --- view guards -----------------------------------------------------------------------------------------


class Level(StrEnum):
    PUBLIC = "public"  # login page, static, language switch
    USER = "user"  # any logged-in account (self-service)
    DELEGATED = "delegated"  # administrators, domain administrators, group administrators
    ADMIN = "admin"  # administrators only


V = TypeVar("V", bound=Callable[..., HttpResponseBase])  # streamed downloads too


def _level_ok(actor: Actor | None, level: Level) -> bool:
    if level is Level.PUBLIC:
        return True
    if actor is None:
        return False
    if level is Level.USER:
        return True
    if level is Level.DELEGATED:
        return actor.roles.rank >= 1
    return actor.roles.administrator


def guard(level: Level) -> Callable[[V], V]:
    """Mark and protect a view. The URLconf test fails for any view without this mark.

    Anonymous visitors are sent to the login page; a logged-in account without the level gets a 404 (the
    page does not exist for them); an account that must change its password is sent there first."""

    def decorate(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if level is not Level.PUBLIC:
                actor: Actor | None = getattr(request, "actor", None)
                if actor is None:
                    from django.contrib.auth.views import redirect_to_login

                    return redirect_to_login(request.get_full_path())
                if request.session.get("must_change_password") and not getattr(
                    view, "allowed_before_password_change", False
                ):
                    return redirect("password_change")
                if not _level_ok(actor, level):
                    raise Http404("No such page.")
            return view(request, *args, **kwargs)

        wrapped.mailadmin_guard = level  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def allowed_before_password_change(view: V) -> V:
    view.allowed_before_password_change = True  # type: ignore[attr-defined]
    return view
