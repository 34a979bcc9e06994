"""The first Accounts pages: look at one entry, and reset a password (ACC-08 and ACC-13 grow from here).

The object comes in as a DN; `require` answers 404 for anything outside the person's scope, before the
directory is even asked whether it exists."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts import services
from accounts.selectors import account_rank, entry_get
from accounts.views.user_common import account_or_404, kind_of
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.permissions import Level, Verb, can, guard, require

SHOWN_ATTRIBUTES = (
    "uid",
    "cn",
    "sn",
    "givenName",
    "mail",
    "mailAlias",
    "mailQuota",
    "mailEnabled",
    "telephoneNumber",
    "title",
    "ou",
    "o",
    "dc",
    "description",
    "objectClass",
)


def _dn_param(request: HttpRequest) -> str:
    dn = request.GET.get("dn", "")
    if not dn or len(dn) > 1024 or not directory.valid_dn(dn):
        raise Http404("No such object.")
    return dn


def _entry_or_404(dn: str) -> directory.Entry:
    entry = entry_get(dn=dn, attrs=SHOWN_ATTRIBUTES)
    if entry is None:
        raise Http404("No such object.")
    return entry


@guard(Level.USER)
@require_GET
def account_detail(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = _dn_param(request)
    require(actor, Verb.VIEW, dn)
    entry = _entry_or_404(dn)
    rows = [(name, entry.values(name)) for name in SHOWN_ATTRIBUTES if entry.values(name)]
    rank = account_rank(dn=dn)
    may_reset = directory.is_account(entry) and can(
        actor, Verb.SET_PASSWORD, dn, kind=kind_of(entry), target_rank=rank
    )
    title = entry.get("cn") or entry.get("uid") or dn
    return render(
        request,
        "accounts/detail.html",
        {"entry": entry, "rows": rows, "may_reset": may_reset, "title": title},
    )


class PasswordResetForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("New password"), max_length=256, strip=False, widget=forms.PasswordInput
    )

    def clean_password(self) -> str:
        value: str = self.cleaned_data["password"]
        if len(value) < 8 or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise forms.ValidationError(_("At least 8 characters, no control characters."))
        return value


@guard(Level.DELEGATED)
@require_http_methods(["GET", "POST"])
def account_password_reset(request: HttpRequest) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    dn = _dn_param(request)
    # Scope first (404 for foreign objects), then the entry's real kind (a group administrator may reset a
    # user's password, not a resource's) and rank: nobody resets an equal or higher rank.
    require(actor, Verb.VIEW, dn)
    entry = account_or_404(dn)
    require(actor, Verb.SET_PASSWORD, dn, kind=kind_of(entry), target_rank=account_rank(dn=dn))
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_password(actor=actor, dn=dn, password=form.cleaned_data["password"])
        except directory.DirectoryError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("The password of %(uid)s has been reset. They must change it at their next login.")
                % {"uid": entry.first("uid")},
            )
            return redirect(reverse("account_detail") + "?" + urlencode({"dn": dn}))
    return render(request, "accounts/password_reset.html", {"entry": entry, "form": form})
