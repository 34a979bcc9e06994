"""Login, logout and the own-password change (ACC-15, ACC-16)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mailadmin import directory
from mailadmin.audit.services import audit_record
from mailadmin.clientaddr import client_address
from mailadmin.forms import LoginForm, PasswordChangeForm
from mailadmin.models import AccountState
from mailadmin.permissions import Level, Verb, allowed_before_password_change, guard, require
from mailadmin.sessions import (
    MUST_CHANGE_PASSWORD,
    SESSION_DN,
    SESSION_EPOCH,
    SESSION_PASSWORD_CHANGED,
)
from mailadmin.throttle import login_attempt, login_succeeded, throttle_minutes


def _disabled_message() -> str:
    return _("This account is disabled. Ask an administrator to enable it.")


def _login_failure_message(username: str) -> str:
    """Say why, as far as it is safe: a locked or disabled account, an unreachable directory, or 'wrong'."""
    try:
        state = directory.account_lock_state(username)
    except directory.DirectoryError:
        return _("The directory server does not answer. Try again in a moment.")
    if state == "disabled":
        return _disabled_message()
    if state == "locked":
        return _(
            "This account is locked after repeated failed logins. Try again later or ask an "
            "administrator to unlock it."
        )
    return _("Wrong login name or password.")


@guard(Level.PUBLIC)
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if getattr(request, "actor", None) is not None:
        return redirect("dashboard")
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        # The attempt is counted before the directory is asked: parallel guesses get no extra binds.
        attempt = login_attempt(username=username, ip=client_address(request))
        if attempt is None:
            error = _("Too many failed logins. Wait %(minutes)d minutes before trying again.") % {
                "minutes": throttle_minutes()
            }
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                error = _login_failure_message(username)
            else:
                login_succeeded(attempt)
                try:
                    standing = directory.standing_for(user.ldap_user.dn)  # type: ignore[attr-defined]
                except directory.DirectoryError:
                    error = _("The directory server does not answer. Try again in a moment.")
                else:
                    if standing.may_log_in:
                        return _finish_login(request, user, standing)
                    # The password was right, but a disabled account logs in nowhere (IMAP and SMTP AUTH
                    # refuse it too: saslauthd's filter asks for mailEnabled).
                    error = _disabled_message()
    elif request.method == "POST":
        error = _("Enter your login name and password.")
    return render(request, "auth/login.html", {"form": form, "error": error}, status=401 if error else 200)


def _finish_login(request: HttpRequest, user: User, standing: directory.Standing) -> HttpResponse:
    dn = user.ldap_user.dn  # type: ignore[attr-defined]
    state, _created = AccountState.objects.get_or_create(user=user, defaults={"dn": dn})
    if state.dn != dn:
        state.dn = dn
        state.save(update_fields=["dn"])
    login(request, user)
    request.session[SESSION_DN] = dn
    request.session[SESSION_EPOCH] = state.session_epoch
    request.session[SESSION_PASSWORD_CHANGED] = standing.password_changed
    if directory.password_must_change(dn):
        request.session[MUST_CHANGE_PASSWORD] = True
        messages.warning(request, _("Please choose a new password before you go on."))
        return redirect("password_change")
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect("dashboard")


@guard(Level.PUBLIC)
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("login")


@guard(Level.USER)
@allowed_before_password_change
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    require(actor, Verb.CHANGE_OWN_PASSWORD, actor.dn)
    min_length = directory.password_min_length()
    form = PasswordChangeForm(request.POST or None, min_length=min_length)
    if request.method == "POST" and form.is_valid():
        try:
            directory.password_modify_as_user(
                actor.dn, form.cleaned_data["old_password"], form.cleaned_data["new_password"]
            )
        except directory.DirectoryRefused as exc:
            form.add_error(None, str(exc))
        except directory.DirectoryUnavailable:
            form.add_error(None, _("The directory server does not answer. Try again in a moment."))
        else:
            with transaction.atomic():
                mine = AccountState.objects.filter(user=cast(User, request.user))
                mine.update(session_epoch=F("session_epoch") + 1)
                state = mine.get()
            # Other sessions of this account carry the old epoch (and the old pwdChangedTime) and end at their
            # next request; this one goes on with the new values.
            request.session[SESSION_EPOCH] = state.session_epoch
            try:
                changed_at = directory.standing_for(actor.dn).password_changed
            except directory.DirectoryError:
                changed_at = ""  # cannot tell: this session ends at its next request, like the others
            request.session[SESSION_PASSWORD_CHANGED] = changed_at
            request.session.pop(MUST_CHANGE_PASSWORD, None)
            request.session.cycle_key()
            audit_record(
                actor=actor,
                action="password_change_own",
                target=actor.dn,
                domains=directory.domains_of(actor.dn),
            )
            messages.success(request, _("Your password has been changed. Other sessions were logged out."))
            return redirect("dashboard")
    return render(request, "auth/password_change.html", {"form": form, "min_length": min_length})
