"""Attach `request.actor` (who is acting, with which roles) to every request of a logged-in account.

The account is read from the directory on every request (`directory.standing_for`, one round trip): a
session ends at once when its account is deleted or disabled or its password was changed elsewhere, and a
role taken away is gone from the next request on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.clientaddr import client_address
from mailadmin.errors import GatewayError
from mailadmin.sessions import SESSION_DN, SESSION_EPOCH, SESSION_PASSWORD_CHANGED

log = logging.getLogger(__name__)


class ActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.actor = None  # type: ignore[attr-defined]
        user = request.user
        if user.is_authenticated:
            session = request.session
            dn = session.get(SESSION_DN)
            state = getattr(user, "state", None)
            if not dn or state is None or session.get(SESSION_EPOCH) != state.session_epoch:
                # Session of an older password, or made outside our login view: end it.
                logout(request)
                return self.get_response(request)
            try:
                standing = directory.standing_for(dn)
            except directory.DirectoryError as exc:
                # Without the directory nobody's rights can be known: refuse, do not guess from the session.
                log.warning("directory unavailable while checking the session of %s: %s", dn, exc)
                return _unavailable(request, exc)
            if not standing.may_log_in or standing.password_changed != session.get(
                SESSION_PASSWORD_CHANGED, ""
            ):
                logout(request)  # deleted, disabled, or its password changed since this session began
            else:
                request.actor = Actor(  # type: ignore[attr-defined]
                    username=user.get_username(), dn=dn, roles=standing.roles, ip=client_address(request)
                )
        return self.get_response(request)


def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    return render(request, "503.html", {"reason": str(exc)}, status=503)


class GatewayUnavailableMiddleware:
    """A daemon that does not answer (slapd down, Cyrus restarting, a queue listing that timed out) is a 503
    page that says so and changed nothing, not a 500: the gateways raise `GatewayError(permanent=False)` for
    exactly those. Permanent gateway errors (wrong credentials in the settings) stay 500s with a traceback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, GatewayError) and not exc.permanent:
            log.warning("%s %s: a daemon did not answer: %s", request.method, request.path, exc)
            return _unavailable(request, exc)
        return None
