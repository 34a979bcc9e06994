"""The Configuration menu's registry for OpenLDAP 2.5 slapd (cn=config).

Each parameter is an olc* attribute; `target` names the cn=config entry it lives in (TARGETS gives the DN).
Every name, value shape and placement is checked against the installed slapd: the test loads a cn=config
with every example set into `slapadd -n0`, which refuses unknown attributes, attributes the entry's object
classes do not allow, and values slapd cannot parse (tests/configfiles/test_registry_cyrus_slapd.py).

Notes that shaped these entries:

- Debian builds slapd with GnuTLS: olcTLSCipherSuite takes a GnuTLS priority string, and olcTLSProtocolMin
  is accepted but ignored (the minimum version goes into the priority string instead).
- slapd's word lists (olcLogLevel, olcRequires, olcAllows, olcDisallows) are separated by spaces; a comma
  makes slapd refuse the value ("unknown level"), so they are TEXT with a pattern rather than LIST (LIST may
  join with ", "). olcAllows and olcDisallows have no "none" word: clearing one means deleting the attribute.
- olcSizeLimit is a plain number in the menu; the stack's renderer writes it as
  `size.soft=N size.hard=N size.prtotal=unlimited`, so paged searches are not cut off (a writer of this
  value should keep that form).
- Nearly every attribute takes effect when modified over ldapi; `restart` marks the one that does not.
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles.registry import Group, Kind, Param, Registry

TARGETS: dict[str, str] = {
    "global": "cn=config",
    "frontend": "olcDatabase={-1}frontend,cn=config",
    "mdb": "olcDatabase={1}mdb,cn=config",
    "ppolicy": "olcOverlay={3}ppolicy,olcDatabase={1}mdb,cn=config",
}
BOOL_WORDS = ("TRUE", "FALSE")

# olcLogLevel: slapd's level names (matched without regard to case), decimal or hex numbers.
LOG_LEVELS = (
    "none",
    "any",
    "trace",
    "packets",
    "args",
    "conns",
    "ber",
    "filter",
    "config",
    "acl",
    "stats",
    "stats2",
    "shell",
    "parse",
    "sync",
)
_LEVEL = r"(?:" + "|".join(sorted(LOG_LEVELS, key=len, reverse=True)) + r"|[0-9]{1,5}|0x[0-9a-f]{1,4})"
_LOG_LEVELS = re.compile(rf"(?i){_LEVEL}(?: {_LEVEL})*")
# olcRequires: SASL and strong are left out on purpose: the stack's services bind with simple binds over
# unencrypted loopback, which neither allows.
REQUIRES = ("bind", "LDAPv3", "authc")
_REQUIRES = re.compile(r"none|(?:bind|LDAPv3|authc)(?: (?:bind|LDAPv3|authc))*")
ALLOWS = ("bind_v2", "bind_anon_cred", "bind_anon_dn", "update_anon", "proxy_authz_anon")
# bind_simple is left out: every client of the stack (the console, Postfix, saslauthd, Cyrus) binds simply.
DISALLOWS = ("bind_anon", "tls_2_anon", "tls_authc", "proxy_authz_non_critical", "dontusecopy_non_critical")


def _words(words: tuple[str, ...]) -> re.Pattern[str]:
    one = "(?:" + "|".join(sorted(words, key=len, reverse=True)) + ")"
    return re.compile(rf"{one}(?: {one})*")


# A GnuTLS priority string: keywords joined by ':' with +, -, ! and % prefixes.
_PRIORITY = re.compile(r"[A-Za-z0-9%+!-][A-Za-z0-9%+!._-]*(?::[A-Za-z0-9%+!-][A-Za-z0-9%+!._-]*)*")
_CHECKPOINT = re.compile(r"[0-9]{1,9} [0-9]{1,6}")

GROUPS = (
    Group("limits", _("Limits")),
    Group("logging", _("Logging")),
    Group("connections", _("Connections and threads")),
    Group("passwords", _("Passwords and policy")),
    Group("tls", _("TLS")),
    Group("database", _("Database")),
)


def _flag(name: str, group: str, target: str, help: str | Promise, example: str) -> Param:
    return Param(name, Kind.BOOLEAN, group, help, example=example, bool_words=BOOL_WORDS, target=target)


PARAMS: tuple[Param, ...] = (
    # --- Limits ---------------------------------------------------------------------------------------------
    Param(
        "olcSizeLimit",
        Kind.NUMBER,
        "limits",
        _(
            "The most entries one ordinary search returns to a normal user; the console's own service "
            "accounts are exempt, and paged searches are not limited by it. Example: 500."
        ),
        unit="entries",
        example="500",
        minimum=1,
        maximum=1_000_000,
        target="mdb",
    ),
    Param(
        "olcTimeLimit",
        Kind.NUMBER,
        "limits",
        _(
            "How many seconds slapd may spend on one search before giving up with what it has; the "
            "service accounts are exempt. Example: 60."
        ),
        unit="seconds",
        example="60",
        minimum=1,
        maximum=86_400,
        target="mdb",
    ),
    Param(
        "olcSockbufMaxIncoming",
        Kind.SIZE,
        "limits",
        _(
            "The largest single request slapd reads from a client that has not logged in, in bytes; "
            "larger ones close the connection. Example: 262143."
        ),
        unit="bytes",
        example="262143",
        minimum=1024,
        maximum=16_777_215,
        target="global",
    ),
    Param(
        "olcSockbufMaxIncomingAuth",
        Kind.SIZE,
        "limits",
        _(
            "The same limit for logged-in clients, in bytes; it caps the size of an entry one can write "
            "(photos, certificates). Example: 4194303."
        ),
        unit="bytes",
        example="4194303",
        minimum=1024,
        maximum=268_435_455,
        target="global",
    ),
    Param(
        "olcLimits",
        Kind.TEXT,
        "limits",
        _(
            'Per-identity exceptions to the limits above. Example: dn.exact="cn=manager,dc=example" '
            "size=unlimited time=unlimited."
        ),
        example='dn.exact="cn=manager,dc=example" size=unlimited time=unlimited',
        fixed=_(
            "The console lifts the limits for its manager and service accounts here; its own lists and "
            "Postfix's lookups must never be cut short."
        ),
        target="mdb",
    ),
    # --- Logging --------------------------------------------------------------------------------------------
    Param(
        "olcLogLevel",
        Kind.TEXT,
        "logging",
        _(
            "What slapd writes to syslog, as level names or numbers separated by spaces: stats logs every "
            "connection and operation, acl every access decision, none only important messages. "
            "Example: stats."
        ),
        example="stats",
        pattern=_LOG_LEVELS,
        target="global",
    ),
    # --- Connections and threads ----------------------------------------------------------------------------
    Param(
        "olcIdleTimeout",
        Kind.NUMBER,
        "connections",
        _(
            "Seconds a client connection may sit unused before slapd closes it; 0 keeps it open forever. "
            "Clients that hold connections open must then reconnect (the console does). Example: 900."
        ),
        unit="seconds",
        example="900",
        minimum=0,
        maximum=604_800,
        target="global",
    ),
    Param(
        "olcWriteTimeout",
        Kind.NUMBER,
        "connections",
        _(
            "Seconds slapd waits for a client to take an answer it is sending before dropping the "
            "connection; 0 waits forever. Example: 60."
        ),
        unit="seconds",
        example="60",
        minimum=0,
        maximum=86_400,
        target="global",
    ),
    Param(
        "olcThreads",
        Kind.NUMBER,
        "connections",
        _(
            "How many worker threads answer requests at the same time (at least 2, default 16); raise it "
            "for many simultaneous clients. Example: 16."
        ),
        unit="threads",
        example="16",
        minimum=2,
        maximum=1024,
        target="global",
    ),
    Param(
        "olcConnMaxPending",
        Kind.NUMBER,
        "connections",
        _(
            "How many requests a client that has not logged in may have waiting; past that slapd closes "
            "its connection. Example: 100."
        ),
        unit="requests",
        example="100",
        minimum=1,
        maximum=100_000,
        target="global",
    ),
    Param(
        "olcConnMaxPendingAuth",
        Kind.NUMBER,
        "connections",
        _("The same queue limit for logged-in clients. Example: 1000."),
        unit="requests",
        example="1000",
        minimum=1,
        maximum=100_000,
        target="global",
    ),
    Param(
        "olcRequires",
        Kind.TEXT,
        "connections",
        _(
            "Conditions every client must meet before any other operation, separated by spaces: bind (log "
            "in first), authc (with a real identity), LDAPv3; none clears them. bind and authc end "
            "anonymous reads. Example: LDAPv3."
        ),
        example="LDAPv3",
        pattern=_REQUIRES,
        target="global",
    ),
    Param(
        "olcAllows",
        Kind.TEXT,
        "connections",
        _(
            "Old or loose behaviours to accept, separated by spaces, for example bind_v2 for LDAPv2 "
            "clients. Each one weakens the server; add one only for a client that needs it. Example: bind_v2."
        ),
        example="bind_v2",
        pattern=_words(ALLOWS),
        target="global",
    ),
    Param(
        "olcDisallows",
        Kind.TEXT,
        "connections",
        _(
            "Features to refuse, separated by spaces: bind_anon refuses anonymous binds, tls_2_anon ends an "
            "anonymous session when StartTLS is used, tls_authc refuses StartTLS after a login. Example: "
            "bind_anon tls_2_anon."
        ),
        example="bind_anon tls_2_anon",
        pattern=_words(DISALLOWS),
        target="global",
    ),
    Param(
        "olcLocalSSF",
        Kind.NUMBER,
        "connections",
        _(
            "The security strength slapd credits to local socket (ldapi) connections, as if they were "
            "encrypted with a key of this many bits. Example: 71 (the default)."
        ),
        unit="bits",
        example="71",
        minimum=0,
        maximum=256,
        target="global",
    ),
    Param(
        "olcSecurity",
        Kind.TEXT,
        "connections",
        _("Minimum security strengths, for example ssf=128 for encrypted connections only. Example: ssf=0."),
        example="ssf=0",
        fixed=_(
            "The stack's services talk to slapd over unencrypted loopback (strength 0); any requirement "
            "above 0 would lock them out."
        ),
        target="global",
    ),
    # --- Passwords and policy -------------------------------------------------------------------------------
    Param(
        "olcPasswordHash",
        Kind.CHOICE,
        "passwords",
        _(
            "The scheme new passwords are stored with when they are set through the console. {SSHA} is "
            "salted SHA-1, {SMD5} salted MD5; existing passwords keep their scheme until changed. "
            "Example: {SSHA}."
        ),
        example="{SSHA}",
        # Salted schemes only: {SHA} and {MD5} are unsalted, and {CRYPT} defaults to DES, which ignores
        # everything after the 8th character of a password.
        choices=("{SSHA}", "{SMD5}"),
        target="frontend",
    ),
    _flag(
        "olcPPolicyHashCleartext",
        "passwords",
        "ppolicy",
        _(
            "TRUE: a password written as plain text by a directory tool is hashed before it is stored. "
            "FALSE stores it readable, which is rarely wanted. Example: TRUE."
        ),
        "TRUE",
    ),
    _flag(
        "olcPPolicyUseLockout",
        "passwords",
        "ppolicy",
        _(
            "TRUE: a locked-out account is told so when it tries to log in, and the console's login page "
            "can say why; FALSE: it gets the usual wrong-password answer, which reveals less. Example: TRUE."
        ),
        "TRUE",
    ),
    Param(
        "olcPPolicyDefault",
        Kind.DN,
        "passwords",
        _("The password policy entry applied to accounts without one of their own. Example: cn=default."),
        example="cn=default,ou=policies,dc=example",
        fixed=_("The console keeps its password and lockout rules in this entry and edits them there."),
        target="ppolicy",
    ),
    # --- TLS ------------------------------------------------------------------------------------------------
    Param(
        "olcTLSCertificateFile",
        Kind.PATH,
        "tls",
        _(
            "The server certificate (PEM, with any intermediate certificates after it) for ldaps:// and "
            "StartTLS; set it together with the key. Example: /etc/ssl/certs/ldap.example.org.pem."
        ),
        example="/etc/ssl/certs/ldap.example.org.pem",
        target="global",
    ),
    Param(
        "olcTLSCertificateKeyFile",
        Kind.PATH,
        "tls",
        _(
            "The certificate's private key (PEM), readable by the openldap user only. "
            "Example: /etc/ssl/private/ldap.example.org.key."
        ),
        example="/etc/ssl/private/ldap.example.org.key",
        target="global",
    ),
    Param(
        "olcTLSCACertificateFile",
        Kind.PATH,
        "tls",
        _(
            "The certificate authorities slapd trusts when it checks client certificates and builds its own "
            "chain. Example: /etc/ssl/certs/ca-certificates.crt."
        ),
        example="/etc/ssl/certs/ca-certificates.crt",
        target="global",
    ),
    Param(
        "olcTLSCipherSuite",
        Kind.TEXT,
        "tls",
        _(
            "Which TLS versions and ciphers slapd offers, as a GnuTLS priority string (Debian's slapd uses "
            "GnuTLS). Example: NORMAL:-VERS-TLS1.0:-VERS-TLS1.1 (TLS 1.2 and newer only)."
        ),
        example="NORMAL:-VERS-TLS1.0:-VERS-TLS1.1",
        pattern=_PRIORITY,
        target="global",
    ),
    Param(
        "olcTLSVerifyClient",
        Kind.CHOICE,
        "tls",
        _(
            "Whether slapd asks clients for a certificate: never, allow (ask, accept anything), try (ask, "
            "refuse a bad one), demand (require a good one). Example: never."
        ),
        example="never",
        choices=("never", "allow", "try", "demand"),
        target="global",
    ),
    Param(
        "olcTLSProtocolMin",
        Kind.TEXT,
        "tls",
        _("The oldest TLS version slapd accepts, as 3.x for TLS 1.(x-1). Example: 3.3 (TLS 1.2)."),
        example="3.3",
        fixed=_(
            "Debian's slapd is built with GnuTLS, which ignores this; exclude old versions in "
            "olcTLSCipherSuite instead (for example -VERS-TLS1.0:-VERS-TLS1.1)."
        ),
        target="global",
    ),
    # --- Database -------------------------------------------------------------------------------------------
    Param(
        "olcDbMaxSize",
        Kind.SIZE,
        "database",
        _(
            "The largest the directory's database file may grow, in bytes; writes fail once it is full. "
            "Raise it in good time; lowering it below the data in use fails. Example: 2147483648 (2 GiB)."
        ),
        unit="bytes",
        example="2147483648",
        minimum=10 << 20,
        maximum=1 << 40,
        target="mdb",
    ),
    _flag(
        "olcDbNoSync",
        "database",
        "mdb",
        _(
            "TRUE: do not wait for the disk after each write, which is much faster but can lose the last "
            "changes if the machine crashes (see olcDbCheckpoint). FALSE: every write is on disk before it "
            "is confirmed. Example: FALSE."
        ),
        "FALSE",
    ),
    Param(
        "olcDbCheckpoint",
        Kind.TEXT,
        "database",
        _(
            "With olcDbNoSync TRUE: flush the database to disk every so many minutes, written as "
            "'<KiB> <minutes>' (the KiB part is not used by this version). Example: 1024 5."
        ),
        example="1024 5",
        pattern=_CHECKPOINT,
        target="mdb",
    ),
    Param(
        "olcDbMaxReaders",
        Kind.NUMBER,
        "database",
        _(
            "How many threads and tools (slapcat) may read the database at once; keep it above olcThreads. "
            "Example: 126."
        ),
        unit="readers",
        example="126",
        minimum=8,
        maximum=10_000,
        restart=True,
        target="mdb",
    ),
    Param(
        "olcDbMaxEntrySize",
        Kind.SIZE,
        "database",
        _("The largest single entry that may be stored, in bytes; 0 means no limit. Example: 1048576."),
        unit="bytes",
        example="1048576",
        minimum=0,
        maximum=1 << 30,
        target="mdb",
    ),
    Param(
        "olcDbRtxnSize",
        Kind.NUMBER,
        "database",
        _(
            "During a long search, slapd pauses its read snapshot after this many entries so that writes "
            "can reuse freed space; smaller values keep the file smaller under heavy writing. Example: 10000."
        ),
        unit="entries",
        example="10000",
        minimum=1,
        maximum=10_000_000,
        target="mdb",
    ),
    _flag(
        "olcReadOnly",
        "database",
        "mdb",
        _(
            "TRUE: refuse every change to the directory (the console cannot create or edit anything, and "
            "password changes fail); for maintenance. Example: FALSE."
        ),
        "FALSE",
    ),
    Param(
        "olcDbIndex",
        Kind.TEXT,
        "database",
        _("Which attributes the database indexes and how (eq, sub, pres). Example: uid,mail,cn eq,sub."),
        example="uid,mail,cn eq,sub",
        fixed=_(
            "The console's, Postfix's and Cyrus's lookups depend on these indexes, and a change makes slapd "
            "reindex the whole database; they are maintained with the console's code."
        ),
        target="mdb",
    ),
    Param(
        "olcLastMod",
        Kind.BOOLEAN,
        "database",
        _("TRUE: slapd keeps modifyTimestamp, entryUUID and similar attributes up to date. Example: TRUE."),
        example="TRUE",
        bool_words=BOOL_WORDS,
        fixed=_("Cyrus names folder groups by the containers' entryUUID, which this keeps."),
        target="mdb",
    ),
    Param(
        "olcAccess",
        Kind.TEXT,
        "database",
        _("The access rules of the directory, tried in order. Example: to * by users read by * none."),
        example="to * by users read by * none",
        fixed=_("The console writes these rules itself (private containers, service accounts, passwords)."),
        target="mdb",
    ),
)

SLAPD = Registry(
    service="slapd",
    title=_("OpenLDAP directory"),
    file="cn=config",
    groups=GROUPS,
    params=PARAMS,
)
