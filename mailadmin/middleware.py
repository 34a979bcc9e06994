"""Attach `request.actor` (who is acting, with which roles) to every request of a logged-in account."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from mailadmin.actor import Actor, Roles
from mailadmin.sessions import SESSION_DN, SESSION_EPOCH, SESSION_ROLES, SESSION_ROLES_AT, load_roles


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a proxy is configured to set it,
    # and the login throttle must not be bypassable by a header.
    return str(request.META.get("REMOTE_ADDR", ""))


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
            else:
                roles_at = float(session.get(SESSION_ROLES_AT, 0))
                if time.time() - roles_at > settings.ROLE_CACHE_SECONDS:
                    roles = load_roles(dn)
                    session[SESSION_ROLES] = roles.to_json()
                    session[SESSION_ROLES_AT] = time.time()
                else:
                    roles = Roles.from_json(session.get(SESSION_ROLES, {}))
                request.actor = Actor(  # type: ignore[attr-defined]
                    username=user.get_username(), dn=dn, roles=roles, ip=client_ip(request)
                )
        return self.get_response(request)
