"""Disclaimer writes (audited) and publishing them to the content filter."""

from __future__ import annotations

import logging
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from mailadmin.actor import Actor
from mailadmin.audit.services import audit_record
from mailadmin.directory import (
    NO_ATTRS,
    DirectoryError,
    InvalidName,
    check_address,
    check_domain,
    check_login,
    dit,
    escape_filter,
    get_entry,
    search,
)
from mailqueue.disclaimers.models import Disclaimer
from mailqueue.disclaimers.sanitize import clean_html, clean_text, html_from_text, text_from_html
from mailqueue.mailfilter.snapshot import Published, SnapshotReader, snapshot_path, write_snapshot

log = logging.getLogger(__name__)


class DisclaimerError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _kind_of(dn: str) -> str | None:
    entry = get_entry(dn, ["objectClass"])
    if entry is None or not dit.is_inside(dn, dit.domains_dn(), strict=True):
        return None
    if entry.has_object_class("mailDomain"):
        return Disclaimer.Kind.DOMAIN
    if entry.has_object_class("mailAccount") and not entry.has_object_class("mailResource"):
        return Disclaimer.Kind.USER
    if entry.has_object_class("mailContainer"):
        if entry.has_object_class("organization"):
            return Disclaimer.Kind.ORGANIZATION
        return Disclaimer.Kind.GROUP
    return None


def resolve_owner(value: str) -> tuple[str, str]:
    """(DN, kind) of the object a disclaimer is for, given its DN, a domain name, an e-mail address or a
    login. Raises DisclaimerError("…", "owner") when it is no user, group, organization or domain."""
    value = value.strip()
    not_found = DisclaimerError(
        _(
            "No user, group, organization or domain by this name. Give a domain name, a login, an e-mail "
            "address or the object's DN."
        ),
        "owner",
    )
    candidates: list[str] = []
    try:
        if "=" in value:
            if not dit.valid_dn(value):
                raise not_found
            candidates = [value]
        elif "@" in value:
            address = escape_filter(check_address(value))
            flt = f"(&(objectClass=mailAccount)(|(mail={address})(mailAlias={address})))"
            candidates = [e.dn for e in search(dit.domains_dn(), flt, NO_ATTRS, limit=2)]
        elif "." in value:
            candidates = [dit.domain_dn(check_domain(value))]
        else:
            flt = f"(&(objectClass=mailAccount)(uid={escape_filter(check_login(value))}))"
            candidates = [e.dn for e in search(dit.domains_dn(), flt, NO_ATTRS, limit=2)]
    except InvalidName as exc:
        raise not_found from exc
    except DirectoryError as exc:
        raise DisclaimerError(_("The directory could not be searched; try again."), "owner") from exc
    if len(candidates) != 1:
        raise not_found
    kind = _kind_of(candidates[0])
    if kind is None:
        raise not_found
    entry = get_entry(candidates[0], NO_ATTRS)
    return (entry.dn if entry is not None else candidates[0]), kind


def _contents(text: str, html: str) -> tuple[str, str]:
    text, html = clean_text(text), clean_html(html)
    if not text and not html:
        raise DisclaimerError(_("Give the disclaimer's text, its HTML, or both."), "text")
    return (text or text_from_html(html)), (html or html_from_text(text))


def disclaimer_save(
    *,
    actor: Actor,
    owner: str,
    text: str,
    html: str,
    outbound_only: bool,
    disclaimer_id: int | None = None,
) -> Disclaimer:
    """Create (disclaimer_id None) or change a disclaimer; one per object."""
    owner_dn, kind = resolve_owner(owner)
    key = dit.normalize_dn(owner_dn)
    text, html = _contents(text, html)
    with transaction.atomic():
        clash = Disclaimer.objects.filter(owner_key=key).exclude(pk=disclaimer_id or 0).first()
        if clash is not None:
            raise DisclaimerError(_("This object has a disclaimer already; change that one."), "owner")
        if disclaimer_id is None:
            item = Disclaimer(owner_dn=owner_dn, owner_key=key, kind=kind)
            before = None
        else:
            item = Disclaimer.objects.select_for_update().get(pk=disclaimer_id)
            before = _audit_view(item)
            item.owner_dn, item.owner_key, item.kind = owner_dn, key, kind
        item.text, item.html, item.outbound_only = text, html, outbound_only
        item.updated_by = actor.username[:255]
        item.save()
        audit_record(
            actor=actor,
            action="disclaimer_create" if before is None else "disclaimer_update",
            target=owner_dn,
            domains=dit.domains_of(owner_dn),
            before=before,
            after=_audit_view(item),
        )
        transaction.on_commit(_publish_quietly)
    return item


def disclaimer_delete(*, actor: Actor, disclaimer_id: int) -> None:
    with transaction.atomic():
        item = Disclaimer.objects.select_for_update().get(pk=disclaimer_id)
        before = _audit_view(item)
        item.delete()
        audit_record(
            actor=actor,
            action="disclaimer_delete",
            target=before["owner"],
            domains=dit.domains_of(before["owner"]),
            before=before,
        )
        transaction.on_commit(_publish_quietly)


def _audit_view(item: Disclaimer) -> dict[str, str]:
    return {
        "owner": item.owner_dn,
        "kind": item.kind,
        "text": item.text[:500],
        "html": item.html[:500],
        "outbound_only": str(item.outbound_only),
    }


def _expected() -> list[Published]:
    return [
        Published(dn=d.owner_key, text=d.text, html=d.html, outbound_only=d.outbound_only)
        for d in Disclaimer.objects.all()
    ]


def publish() -> Path:
    """Write every disclaimer to the file the filter reads (after each committed change)."""
    return write_snapshot(_expected())


def _publish_quietly() -> None:
    """After the commit the change is made; a file that cannot be written is logged, and the list page
    says the filter is behind (`published_in_sync`) until `manage.py mailfilter --export` succeeds."""
    try:
        publish()
    except OSError:
        log.exception("cannot write the disclaimer file for the mail filter")


def published_in_sync() -> bool:
    """Does the filter's file hold exactly what the database holds?"""
    published = SnapshotReader(snapshot_path()).current()
    return published == {item.dn: item for item in _expected()}


def disclaimers_replace(*, actor: Actor, items: list[dict[str, object]]) -> int:
    """Replace every disclaimer with `items` (a backup's): each owner resolved and each text cleaned as when
    it is saved in the page; one that does not pass and nothing changes (one transaction, published after)."""
    if not actor.roles.administrator:
        raise DisclaimerError(_("Only administrators restore disclaimers."))
    prepared = []
    for item in items:
        owner_dn, kind = resolve_owner(str(item.get("owner_dn", "")))
        text, html = _contents(str(item.get("text", "")), str(item.get("html", "")))
        prepared.append((owner_dn, kind, text, html, bool(item.get("outbound_only"))))
    with transaction.atomic():
        before = [_audit_view(d) for d in Disclaimer.objects.select_for_update().all()]
        Disclaimer.objects.all().delete()
        for owner_dn, kind, text, html, outbound_only in prepared:
            Disclaimer.objects.create(
                owner_dn=owner_dn,
                owner_key=dit.normalize_dn(owner_dn),
                kind=kind,
                text=text,
                html=html,
                outbound_only=outbound_only,
                updated_by=actor.username[:255],
            )
        audit_record(
            actor=actor,
            action="disclaimers_replace",
            target="disclaimers",
            before={"disclaimers": before},
            after={"disclaimers": [_audit_view(d) for d in Disclaimer.objects.all()]},
        )
        transaction.on_commit(_publish_quietly)
    return len(prepared)
