"""A user's extra addresses and forwarding; a domain's catch-all and alias domains.

Who may do what (docs/aliases.md): extra addresses — whoever may edit the account (administrators, domain
administrators in their domains, group administrators for users of their group); forwarding — the same,
plus every user for their own account (self-service); catch-all — administrators and the domain's
administrators; alias domains — administrators only (they claim a domain name for the whole server).
Anything else is a 404, checked before the directory is read.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.selectors import account_get, account_rank
from aliases.selectors import domain_address_entry, forwarding_entry
from aliases.services import addresses as services
from aliases.services import membership
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import DirectoryError, InvalidName, check_domain, dit
from mailadmin.permissions import Level, Verb, account_kind, guard, require
from mailadmin.views.params import dn_param

_TEXT = {"rows": 4, "cols": 60}


class AddressesForm(forms.Form):
    addresses = forms.CharField(
        label=gettext_lazy("Other addresses"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs=_TEXT),
        help_text=gettext_lazy("One address per line, all in the user's domain. Empty: none."),
    )


class ForwardingForm(forms.Form):
    targets = forms.CharField(
        label=gettext_lazy("Forward mail to"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs=_TEXT),
        help_text=gettext_lazy("One address per line. Empty: no forwarding."),
    )
    keep_copy = forms.BooleanField(label=gettext_lazy("Keep a copy in the mailbox"), required=False)


class CatchAllForm(forms.Form):
    catch_all = forms.CharField(
        label=gettext_lazy("Catch-all address"),
        required=False,
        max_length=300,
        help_text=gettext_lazy(
            "Receives mail for unknown addresses of this domain. Empty: unknown ones are refused."
        ),
    )


class AliasDomainForm(forms.Form):
    alias_domain = forms.CharField(
        label=gettext_lazy("Alias domain"),
        max_length=300,
        help_text=gettext_lazy("All mail to this domain is delivered as if sent to this domain."),
    )


def _show_error(form: forms.Form, exc: Exception) -> None:
    field = getattr(exc, "field", "") or ""
    name = next((f for f in form.fields if field == f or field.startswith(f)), None)
    form.add_error(name, str(exc))


ADDRESS_ATTRS = ("mail", "mailAlias", "mailForward", "mailKeepCopy", "cn")


def _user_url(dn: str) -> str:
    return reverse("user_detail") + "?" + urlencode({"dn": dn})


def _account_or_404(dn: str) -> directory.Entry:
    entry = account_get(dn=dn, attrs=ADDRESS_ATTRS)
    if entry is None:
        raise Http404("No such account.")
    return entry


def _account(request: HttpRequest, *, self_service: bool) -> tuple[Actor, str, directory.Entry]:
    """The account `?dn=` if the actor may change its addresses (or, `self_service`, it is their own)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = dn_param(request)
    if self_service and actor.dn and dit.same_dn(dn, actor.dn):
        entry = _account_or_404(dn)
    else:
        require(actor, Verb.VIEW, dn)
        entry = _account_or_404(dn)
        require(actor, Verb.CHANGE, dn, kind=account_kind(entry), target_rank=account_rank(dn=dn))
    if not entry.has_object_class("mailAccount"):
        raise Http404("No such account.")
    return actor, dn, entry


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def user_addresses(request: HttpRequest) -> HttpResponse:
    actor, dn, entry = _account(request, self_service=False)
    form = AddressesForm(request.POST or None, initial={"addresses": "\n".join(entry.values("mailAlias"))})
    if request.method == "POST" and form.is_valid():
        # the aliases listing an address about to go, for the message (aliases/services/membership.py)
        listing = membership.aliases_with_member(*entry.values("mailAlias"))
        try:
            kept = services.user_set_addresses(
                actor=actor, dn=dn, addresses=services.split_addresses(form.cleaned_data["addresses"])
            )
        except (InvalidName, DirectoryError) as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The addresses of %(uid)s are saved.") % {"uid": entry.first("uid")})
            left = [c for c in listing if any(m.lower() not in kept for m in c.removed)]
            if left:
                messages.info(request, membership.also_removed(actor, left))
            return redirect(_user_url(dn))
    context = {"form": form, "entry": entry, "dn": dn, "domain": dit.domain_of(dn)}
    return render(request, "aliases/addresses_user.html", context)


@guard(Level.USER)
@require_http_methods(["GET", "POST"])
def user_forwarding(request: HttpRequest) -> HttpResponse:
    actor, dn, _entry = _account(request, self_service=True)
    entry = forwarding_entry(dn=dn) or _entry
    initial = {
        "targets": "\n".join(entry.values("mailForward")),
        "keep_copy": entry.first("mailKeepCopy").upper() == "TRUE",
    }
    form = ForwardingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            targets = services.user_set_forwarding(
                actor=actor,
                dn=dn,
                targets=services.split_addresses(form.cleaned_data["targets"]),
                keep_copy=form.cleaned_data["keep_copy"],
            )
        except (InvalidName, DirectoryError) as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request,
                _("Mail of %(uid)s is forwarded to %(targets)s.")
                % {"uid": entry.first("uid"), "targets": ", ".join(targets)}
                if targets
                else _("Mail of %(uid)s is no longer forwarded.") % {"uid": entry.first("uid")},
            )
            return redirect(reverse("user_forwarding") + "?" + urlencode({"dn": dn}))
    context = {"form": form, "entry": entry, "dn": dn, "own": bool(actor.dn) and dit.same_dn(dn, actor.dn)}
    return render(request, "aliases/addresses_forwarding.html", context)


@guard(Level.USER)
@require_GET
def my_forwarding(request: HttpRequest) -> HttpResponse:
    """Self-service: the forwarding page of the logged-in account (console-only accounts have none)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    if not actor.dn or not dit.domain_of(actor.dn):
        # console-only accounts (ou=admins) have no mail to forward: say so rather than a dead menu item
        return render(request, "aliases/addresses_forwarding.html", {"no_mail": True})
    return redirect(reverse("user_forwarding") + "?" + urlencode({"dn": actor.dn}))


def _domain(request: HttpRequest) -> tuple[Actor, str, directory.Entry, bool]:
    """The domain `?domain=` if the actor is an administrator or one of its domain administrators."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    try:
        name = check_domain(request.GET.get("domain", ""))
        domain_dn = dit.domain_dn(name)
    except InvalidName as exc:
        raise Http404("No such domain.") from exc
    admin = actor.roles.administrator
    if not admin and not any(dit.same_dn(domain_dn, d) for d in actor.roles.domains):
        raise Http404("No such domain.")
    entry = domain_address_entry(domain=name)
    if entry is None:
        raise Http404("No such domain.")
    return actor, name, entry, admin


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def domain_addresses(request: HttpRequest) -> HttpResponse:
    """Catch-all (administrators and the domain's administrators) and alias domains (administrators)."""
    actor, name, entry, admin = _domain(request)
    here = reverse("domain_addresses") + "?" + urlencode({"domain": name})
    post = request.POST if request.method == "POST" else None
    action = post.get("action", "") if post is not None else ""
    catch_all = CatchAllForm(
        post if action == "catch_all" else None, initial={"catch_all": entry.first("mailCatchAll")}
    )
    alias_form = AliasDomainForm(post if action == "add_alias" else None)
    try:
        if action == "catch_all" and catch_all.is_valid():
            target = services.domain_set_catch_all(
                actor=actor, domain=name, target=catch_all.cleaned_data["catch_all"]
            )
            messages.success(
                request,
                _("Unknown addresses of %(domain)s now go to %(target)s.")
                % {"domain": name, "target": target}
                if target
                else _("%(domain)s has no catch-all: mail to unknown addresses is refused.")
                % {"domain": name},
            )
            return redirect(here)
        if action in ("add_alias", "remove_alias") and not admin:
            raise Http404("No such page.")
        if action == "add_alias" and alias_form.is_valid():
            alias = services.domain_add_alias(
                actor=actor, domain=name, alias=alias_form.cleaned_data["alias_domain"]
            )
            messages.success(
                request, _("Mail to %(alias)s is delivered as %(domain)s.") % {"alias": alias, "domain": name}
            )
            return redirect(here)
        if action == "remove_alias" and post is not None:
            services.domain_remove_alias(actor=actor, domain=name, alias=post.get("alias", ""))
            messages.success(request, _("The alias domain has been removed."))
            return redirect(here)
    except (InvalidName, DirectoryError) as exc:
        if action == "catch_all":
            _show_error(catch_all, exc)
        elif action == "add_alias":
            _show_error(alias_form, exc)
        else:
            messages.error(request, str(exc))
    context: dict[str, Any] = {
        "domain": name,
        "entry": entry,
        "catch_all_form": catch_all,
        "alias_form": alias_form,
        "may_alias": admin,
        "alias_domains": sorted(entry.values("mailDomainAlias")),
    }
    return render(request, "aliases/addresses_domain.html", context)


urlpatterns = [
    path("addresses/", user_addresses, name="user_addresses"),
    path("forwarding/", user_forwarding, name="user_forwarding"),
    path("forwarding/mine/", my_forwarding, name="my_forwarding"),
    path("domain/", domain_addresses, name="domain_addresses"),
]
