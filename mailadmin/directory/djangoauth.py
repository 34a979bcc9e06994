"""Django login through the directory: django-auth-ldap, binding as the user.

Settings come from the console's own LDAP_* settings at call time (tests and deployments point them
elsewhere), so the AUTH_LDAP_* names are not needed in settings.py.
"""

from __future__ import annotations

from typing import Any

import ldap
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django_auth_ldap.backend import LDAPBackend, LDAPSettings, _LDAPUser
from django_auth_ldap.config import LDAPSearch


class DirectoryBackend(LDAPBackend):
    @property
    def settings(self) -> LDAPSettings:
        conf = LDAPSettings(self.settings_prefix, self.default_settings)
        conf.SERVER_URI = settings.LDAP_URI
        conf.START_TLS = settings.LDAP_STARTTLS
        conf.BIND_DN = settings.LDAP_ADMIN_DN
        conf.BIND_PASSWORD = settings.LDAP_ADMIN_PASSWORD
        # Login names are unique server-wide (slapd's unique overlay), so a subtree search by uid finds
        # one entry or none. The value is escaped by django-auth-ldap; the login form has checked it too.
        conf.USER_SEARCH = LDAPSearch(settings.LDAP_BASE_DN, ldap.SCOPE_SUBTREE, "(uid=%(user)s)")
        conf.USER_ATTR_MAP = {"first_name": "givenName", "last_name": "sn", "email": "mail"}
        conf.ALWAYS_UPDATE_USER = True
        conf.CONNECTION_OPTIONS = {
            ldap.OPT_NETWORK_TIMEOUT: settings.LDAP_TIMEOUT,
            ldap.OPT_TIMEOUT: settings.LDAP_TIMEOUT,
            ldap.OPT_REFERRALS: 0,
        }
        conf.CACHE_TIMEOUT = 0
        return conf

    @settings.setter
    def settings(self, value: Any) -> None:  # django-auth-ldap assigns in __init__ of some versions
        pass

    def get_user(self, user_id: Any) -> Any:
        """The session's user with its AccountState in one query: the actor middleware reads the session
        epoch on every request, and a second query for it was a tenth of a list page's time."""
        try:
            user = self.get_user_model().objects.select_related("state").get(pk=user_id)
        except ObjectDoesNotExist:
            return None
        _LDAPUser(self, user=user)  # sets user.ldap_user, as the base class does
        return user

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[Any, bool]:
        user, built = super().get_or_build_user(username, ldap_user)
        if built:
            # The password lives in LDAP only; the Django row never holds a usable hash. Only on creation:
            # a new random unusable hash would change Django's session hash and end the other sessions.
            user.set_unusable_password()
        return user, built
