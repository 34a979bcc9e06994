"""Actions on the user page (ACC-08): Edit, Disable/Enable, Access WebClient, Set quota, Delete.

Each checks scope first (VIEW: 404 for a foreign object), then the verb with the target's rank (nobody acts
on an equal or higher rank), and only then reads or changes the directory. Mutations are POST only.
With htmx, Disable/Enable and Access WebClient answer with the status block of the page only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import account_rank, mailbox_state, mailbox_summary
from accounts.services import users as user_services
from accounts.services.person import PERSON_FIELDS
from accounts.services.user_edit import user_update
from accounts.views.user_common import account_or_404, detail_context, detail_url, kind_of
from accounts.views.user_forms import DeleteForm, QuotaForm, UserEditForm, add_service_error
from aliases.services import membership
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, dit
from mailadmin.imap_names import ImapError, MailboxSummary
from mailadmin.permissions import Level, Verb, guard, require
from mailadmin.views.params import dn_param


def _target(request: HttpRequest, verb: Verb) -> tuple[Actor, str, directory.Entry]:
    """The account `?dn=` if the actor may do `verb` to it; 404 otherwise (also when it does not exist)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = dn_param(request)
    require(actor, Verb.VIEW, dn)
    entry = account_or_404(dn)
    require(actor, verb, dn, kind=kind_of(entry), target_rank=account_rank(dn=dn))
    return actor, dn, entry


def _status_or_redirect(
    request: HttpRequest, actor: Actor, dn: str, notice: str, *, ok: bool = True
) -> HttpResponse:
    if getattr(request, "htmx", False):
        context = detail_context(actor, dn, account_or_404(dn))
        context["notice"], context["notice_ok"] = notice, ok
        return render(request, "accounts/user_detail.html#status", context)
    (messages.success if ok else messages.error)(request, notice)
    return redirect(detail_url(dn))


@guard(Level.DELEGATED)
@require_POST
def user_disable(request: HttpRequest) -> HttpResponse:
    actor, dn, entry = _target(request, Verb.CHANGE)
    try:
        user_services.user_disable(actor=actor, dn=dn)
    except InvalidName as exc:
        return _status_or_redirect(request, actor, dn, str(exc), ok=False)
    uid = {"uid": entry.first("uid")}
    if entry.has_object_class("mailAccount"):
        notice = _("%(uid)s is disabled: no login, and mail to them is refused.") % uid
    else:
        notice = _("%(uid)s is disabled: no login.") % uid
    return _status_or_redirect(request, actor, dn, notice)


@guard(Level.DELEGATED)
@require_POST
def user_enable(request: HttpRequest) -> HttpResponse:
    actor, dn, entry = _target(request, Verb.CHANGE)
    user_services.user_enable(actor=actor, dn=dn)
    notice = _("%(uid)s is enabled again.") % {"uid": entry.first("uid")}
    return _status_or_redirect(request, actor, dn, notice)


@guard(Level.DELEGATED)
@require_POST
def user_web_access(request: HttpRequest) -> HttpResponse:
    actor, dn, entry = _target(request, Verb.CHANGE)
    allowed = request.POST.get("allowed") == "1"
    user_services.user_set_web_access(actor=actor, dn=dn, allowed=allowed)
    notice = (
        _("%(uid)s may use the WebClient.") if allowed else _("%(uid)s may no longer use the WebClient.")
    ) % {"uid": entry.first("uid")}
    return _status_or_redirect(request, actor, dn, notice)


def _edit_initial(entry: directory.Entry) -> dict[str, Any]:
    initial: dict[str, Any] = {f.key: entry.first(f.attr) for f in PERSON_FIELDS}
    initial.update(
        last_name=entry.first("sn"),
        first_name=entry.first("givenName"),
        initials=entry.first("initials"),
        mail=entry.first("mail"),
        send_local_only=entry.first("mailSendLocalOnly").upper() == "TRUE",
        receive_local_only=entry.first("mailReceiveLocalOnly").upper() == "TRUE",
        resource_kind=entry.first("mailResourceKind") or "other",
    )
    return initial


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest) -> HttpResponse:
    actor, dn, entry = _target(request, Verb.CHANGE)
    resource = entry.has_object_class("mailResource")
    form = UserEditForm(
        request.POST or None, initial=_edit_initial(entry), domain=dit.domain_of(dn) or "", resource=resource
    )
    if not entry.has_object_class("mailAccount"):
        for name in ("mail", "send_local_only", "receive_local_only"):
            form.fields.pop(name, None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            changed = user_update(
                actor=actor,
                dn=dn,
                last_name=d["last_name"],
                first_name=d.get("first_name", ""),
                initials=d.get("initials", ""),
                person=form.person(),
                mail=d.get("mail") if "mail" in form.fields else None,
                send_local_only=d.get("send_local_only") if "send_local_only" in form.fields else None,
                receive_local_only=d.get("receive_local_only")
                if "receive_local_only" in form.fields
                else None,
                resource_kind=d.get("resource_kind") if resource else None,
            )
        except InvalidName as exc:
            add_service_error(form, exc)
        except DirectoryError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(uid)s has been changed.") % {"uid": entry.first("uid")}
                if changed
                else _("Nothing was changed."),
            )
            return redirect(detail_url(dn))
    return render(request, "accounts/user_edit.html", {"form": form, "entry": entry, "dn": dn})


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def user_quota(request: HttpRequest) -> HttpResponse:
    """Set quota: MiB in the form, KiB in LDAP and Cyrus."""
    actor, dn, entry = _target(request, Verb.SET_QUOTA)
    current = entry.first("mailQuota")
    initial = {"quota_mib": int(current) // 1024} if current.isdigit() else {}
    form = QuotaForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        mib = form.cleaned_data.get("quota_mib")
        try:
            user_services.user_set_quota(actor=actor, dn=dn, quota_kib=None if mib is None else mib * 1024)
        except InvalidName as exc:
            add_service_error(form, exc)
        except (DirectoryError, ImapError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("The quota of %(uid)s is now %(mib)s MiB.") % {"uid": entry.first("uid"), "mib": mib}
                if mib is not None
                else _("%(uid)s has no quota now.") % {"uid": entry.first("uid")},
            )
            return redirect(detail_url(dn))
    mailbox = mailbox_state(uid=entry.first("uid"), with_folders=False)
    return render(
        request, "accounts/user_quota.html", {"form": form, "entry": entry, "dn": dn, "mailbox": mailbox}
    )


def _after_delete_url(dn: str) -> str:
    try:
        return reverse("account_browser") + "?" + urlencode({"dn": dit.parent_dn(dn)})
    except NoReverseMatch:
        return reverse("dashboard")


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def user_delete(request: HttpRequest) -> HttpResponse:
    """A confirmation page that says what goes; the mailbox only with its own tick box."""
    actor, dn, entry = _target(request, Verb.DELETE)
    uid = entry.first("uid")
    mail_account = entry.has_object_class("mailAccount")
    summary: MailboxSummary | None = None
    problem = ""
    if mail_account:
        try:
            summary = mailbox_summary(uid=uid)
        except ImapError as exc:
            problem = str(exc)
    # The aliases listing its addresses lose them with it (aliases/services/membership.py), named here.
    aliases_note = refusal = ""
    if mail_account:
        try:
            addresses = [*entry.values("mail"), *entry.values("mailAlias")]
            aliases_note = membership.also_removed(actor, membership.plan_remove(addresses, holder_dn=dn))
        except InvalidName as exc:
            refusal = str(exc)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        delete_mailbox = bool(form.cleaned_data["delete_mailbox"]) and summary is not None
        try:
            changed = user_services.user_delete(actor=actor, dn=dn, delete_mailbox=delete_mailbox)
        except (DirectoryError, ImapError, InvalidName) as exc:
            form.add_error(None, str(exc))
        else:
            if changed:
                messages.info(request, membership.also_removed(actor, changed))
            if delete_mailbox:
                messages.success(request, _("%(uid)s and their mailbox have been deleted.") % {"uid": uid})
            elif summary is not None:
                messages.success(
                    request,
                    _(
                        "%(uid)s has been deleted. The mailbox user/%(uid)s was kept: the login name %(uid)s "
                        "stays blocked until the mailbox is removed."
                    )
                    % {"uid": uid},
                )
            else:
                messages.success(request, _("%(uid)s has been deleted.") % {"uid": uid})
            return redirect(_after_delete_url(dn))
    context = {
        "form": form,
        "entry": entry,
        "dn": dn,
        "summary": summary,
        "size_mb": f"{summary.size_bytes / 1_000_000:.1f}" if summary else "",
        "problem": problem,
        "mail_account": mail_account,
        "aliases_note": aliases_note,
        "refusal": refusal,
    }
    return render(request, "accounts/user_delete.html", context)
