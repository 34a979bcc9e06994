"""The ProFTPD registry of the Configuration menu: the free/busy FTP server (proftpd.conf,
mailadmin/configfiles/proftpd.py), whose users are the directory's accounts (mod_ldap).

Every name is a ProFTPD 1.3.8 directive of the same name, except LDAPBindPassword (the second argument of
LDAPBindDN) and LDAPUsersBase (the first argument of LDAPUsers; the filter stays the one saslauthd uses, so
exactly the accounts that may read mail may log in). A value replaces the renderer's; the renderer's values
are the defaults.

The data table is laid out by hand (one parameter, then its help), hence `fmt: off`.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles.registry import Group, Kind, Param, Registry

SERVER, LIMITS, LDAP, FILES = "server", "limits", "ldap", "files"

GROUPS = (
    Group(SERVER, _("Server")),
    Group(LIMITS, _("Limits and timeouts")),
    Group(LDAP, _("LDAP authentication")),
    Group(FILES, _("Files")),
)

SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./_()-]{0,62}[A-Za-z0-9.)]|[A-Za-z0-9]")
LDAP_URI = re.compile(r"ldaps?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?")
UMASK = re.compile(r"0?[0-7]{3}")
_ON_OFF = ("on", "off")

# fmt: off
PARAMS = (
    # --- server -------------------------------------------------------------------------------------------
    Param("ServerName", Kind.TEXT, SERVER, example="Free/busy FTP", pattern=SERVER_NAME, help=_(
        "The name the FTP server gives in its greeting, letters, digits, spaces and ./_()- only. "
        "Example: Free/busy FTP.")),
    Param("Port", Kind.NUMBER, SERVER, unit="port", example="21", minimum=1, maximum=65535, help=_(
        "The TCP port on 127.0.0.1 where the FTP server accepts connections. Another program must not use "
        "it already. Example: 21.")),
    # --- limits and timeouts ------------------------------------------------------------------------------
    Param("MaxInstances", Kind.NUMBER, LIMITS, unit="sessions", example="30", minimum=1, maximum=10000,
          help=_(
        "How many FTP sessions may be open at the same time; one more is refused until a session ends. "
        "Example: 30.")),
    Param("MaxLoginAttempts", Kind.NUMBER, LIMITS, unit="attempts", example="3", minimum=1, maximum=100,
          help=_(
        "How many wrong passwords one connection may try before the server hangs up. Example: 3.")),
    Param("TimeoutLogin", Kind.NUMBER, LIMITS, unit="seconds", example="60", minimum=1, maximum=65535,
          help=_(
        "How many seconds a client has, after connecting, to log in. Example: 60.")),
    Param("TimeoutIdle", Kind.NUMBER, LIMITS, unit="seconds", example="600", minimum=0, maximum=86400,
          help=_(
        "How many seconds a logged-in client may send no command before the server hangs up; 0 never hangs "
        "up. Example: 600.")),
    Param("TimeoutNoTransfer", Kind.NUMBER, LIMITS, unit="seconds", example="300", minimum=0,
          maximum=86400, help=_(
        "How many seconds a logged-in client may go without uploading or downloading anything (listing a "
        "directory counts) before the server hangs up; 0 never does. Example: 300.")),
    Param("TimeoutStalled", Kind.NUMBER, LIMITS, unit="seconds", example="300", minimum=0, maximum=86400,
          help=_(
        "How many seconds a transfer may stand still before the server abandons it; 0 waits forever. "
        "Example: 300.")),
    # --- LDAP authentication ------------------------------------------------------------------------------
    Param("LDAPServer", Kind.TEXT, LDAP, example="ldap://127.0.0.1:389", pattern=LDAP_URI, help=_(
        "The directory server logins are checked against, as ldap://host:port (or ldaps:// for TLS). "
        "Example: ldap://127.0.0.1:389.")),
    Param("LDAPBindDN", Kind.DN, LDAP, example="cn=saslauthd,ou=services,dc=mailadmin", help=_(
        "The service account the FTP server binds as to look a login up. It needs to find accounts by "
        "their login name and nothing more; the console's read-only saslauthd account does. "
        "Example: cn=saslauthd,ou=services,dc=mailadmin.")),
    Param("LDAPBindPassword", Kind.SECRET, LDAP, help=_(
        "The password of the service account above. It is never shown, neither here nor in the change's "
        "file differences.")),
    Param("LDAPUsersBase", Kind.DN, LDAP, example="ou=domains,dc=mailadmin", help=_(
        "Where in the directory the accounts that may log in are searched, with everything below it. Only "
        "enabled mail accounts are found, the same ones that may read their mail. "
        "Example: ou=domains,dc=mailadmin.")),
    Param("LDAPAuthBinds", Kind.BOOLEAN, LDAP, example="on", bool_words=_ON_OFF, help=_(
        "on: the password is checked by logging in to the directory as the account, so the directory's "
        "password rules and lockouts apply. off: the FTP server reads the stored password hash itself, "
        "which the read-only service account is not allowed to do, so every login would fail. "
        "Example: on.")),
    # --- files --------------------------------------------------------------------------------------------
    Param("LDAPGenerateHomedir", Kind.BOOLEAN, FILES, example="on", bool_words=_ON_OFF, help=_(
        "on: each account's FTP home is the prefix below followed by its login name, made at its first "
        "login. The accounts have no home directory of their own in the directory, so off lets nobody log "
        "in. Example: on.")),
    Param("LDAPGenerateHomedirPrefix", Kind.PATH, FILES, example="/var/lib/mailadmin/stack/ftp/freebusy",
          help=_(
        "The directory under which every account gets its FTP home (prefix/login); each user sees only "
        "their own home and cannot leave it. Must lie in the stack's ftp directory. "
        "Example: /var/lib/mailadmin/stack/ftp/freebusy.")),
    Param("Umask", Kind.TEXT, FILES, example="022", pattern=UMASK, help=_(
        "The permission bits taken away from uploaded files and new directories, in octal: 022 leaves them "
        "readable by others on the server, 077 private. Example: 022.")),
    Param("AllowOverwrite", Kind.BOOLEAN, FILES, example="on", bool_words=_ON_OFF, help=_(
        "Whether an upload may replace a file of the same name; free/busy clients upload the same file "
        "again and again, so they need on. Example: on.")),
)
# fmt: on

PROFTPD = Registry(
    service="proftpd", title=_("Free/busy FTP (ProFTPD)"), file="proftpd.conf", groups=GROUPS, params=PARAMS
)
