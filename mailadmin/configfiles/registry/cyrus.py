"""The Configuration menu's registry for Cyrus IMAP 3.6 (imapd.conf).

Every name here is an imapd.conf option of the installed Cyrus (`cyr_info conf-default` lists it), and every
example passes `cyr_info conf-lint` (tests/configfiles/test_registry_cyrus_slapd.py).

Notes on the file format that shaped these entries:

- Switches are written `yes`/`no`; Cyrus refuses `TRUE` and an empty value ("empty option value").
- Durations take one of the units d, h, m, s (Cyrus also sums forms like 1h30m, which the menu does not
  offer). A bare number is read in a unit chosen per option, which each help text names. The range check of
  a TIME parameter looks at the number only, so limits that depend on the unit are stated in the help.
- Lists are space separated (sieve_extensions, autocreate_users) or `|` separated (folder names); a comma
  makes Cyrus refuse the file, so they are TEXT with a pattern rather than LIST (LIST may join with ", ").
- Options Cyrus reads as -1 for "off" (autocreate_quota, autocreate_quota_messages) are TEXT with a pattern:
  NUMBER takes no sign.

imapd.conf is read by each Cyrus process when it starts; cyrmaster forks a new process per connection here
(prefork=0), so a change applies to new connections without a restart.
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mailadmin.configfiles.registry import Group, Kind, Param, Registry

_BIG = 2_147_483_647  # Cyrus reads most numbers into a C int
# A folder name as the menu allows it in the `|` lists: ASCII letters, digits, space, `.`, `_`, `-`
# (names outside ASCII would have to be written in modified UTF-7).
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9 ._-]*[A-Za-z0-9._-])?"
_FOLDERS = re.compile(rf"{_NAME}(?: ?\| ?{_NAME})*")
# Shared folders may be nested (`a.test/Projects`): the hierarchy separator is `/`.
_SHARED = re.compile(rf"{_NAME}(?:/{_NAME})*(?: ?\| ?{_NAME}(?:/{_NAME})*)*")
_MINUS_ONE_OR_COUNT = re.compile(r"-1|0|[1-9][0-9]{0,9}")
_IDENTIFIER = (
    r"(?:anyone|group:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[a-z0-9][a-z0-9._-]{0,63}(?:@[a-z0-9.-]{1,253})?)"
)
_IDENTIFIERS = re.compile(rf"{_IDENTIFIER}(?: {_IDENTIFIER})*")
_SECONDS_FRACTION = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,3})?")

# The Sieve extensions Cyrus 3.6 knows (the value's words; aliases included).
SIEVE_EXTENSIONS = (
    "fileinto",
    "reject",
    "vacation",
    "vacation-seconds",
    "notify",
    "include",
    "envelope",
    "environment",
    "body",
    "relational",
    "regex",
    "subaddress",
    "copy",
    "date",
    "index",
    "imap4flags",
    "imapflags",
    "mailbox",
    "mboxmetadata",
    "servermetadata",
    "variables",
    "editheader",
    "extlists",
    "duplicate",
    "ihave",
    "fcc",
    "special-use",
    "redirect-dsn",
    "redirect-deliverby",
    "mailboxid",
    "vnd.cyrus.log",
    "x-cyrus-log",
    "vnd.cyrus.jmapquery",
    "x-cyrus-jmapquery",
    "vnd.cyrus.imip",
    "snooze",
    "vnd.cyrus.snooze",
    "x-cyrus-snooze",
)
_SIEVE_WORD = "(?:" + "|".join(re.escape(w) for w in sorted(SIEVE_EXTENSIONS, key=len, reverse=True)) + ")"
_SIEVE_LIST = re.compile(rf"{_SIEVE_WORD}(?: {_SIEVE_WORD})*")

_DHMS = "dhms"

GROUPS = (
    Group("quota", _("Quotas")),
    Group("autocreate", _("Mailbox creation")),
    Group("folders", _("Shared folders and names")),
    Group("login", _("Login and SASL")),
    Group("timeouts", _("Timeouts")),
    Group("logging", _("Logging")),
    Group("lmtp", _("LMTP delivery")),
    Group("duplicates", _("Duplicate suppression")),
    Group("sieve", _("Sieve")),
    Group("server", _("Server and storage")),
)


def _switch(name: str, group: str, help: str | Promise, example: str = "yes") -> Param:
    return Param(name, Kind.BOOLEAN, group, help, example=example)


PARAMS: tuple[Param, ...] = (
    # --- Quotas ---------------------------------------------------------------------------------------------
    Param(
        "quotawarn",
        Kind.NUMBER,
        "quota",
        _(
            "How full a mailbox must be, in percent of its quota, before Cyrus starts adding a warning to "
            "the client's responses. For example 85 warns from 85 percent on; the stack starts Cyrus with 90."
        ),
        unit="percent",
        example="85",
        minimum=0,
        maximum=100,
    ),
    Param(
        "quotawarnkb",
        Kind.SIZE,
        "quota",
        _(
            "Warn only once less than this much storage quota is left, in KiB; 0 leaves the decision to the "
            "percentage alone. For example 10240 holds the warning back until under 10 MiB remain."
        ),
        unit="KiB",
        example="10240",
        minimum=0,
        maximum=_BIG,
    ),
    Param(
        "quotawarnmsg",
        Kind.NUMBER,
        "quota",
        _(
            "Like the KiB threshold, but for a message-count quota: warn only once fewer than this many "
            "messages may still be stored; 0 turns the extra condition off. Example: 100."
        ),
        unit="messages",
        example="100",
        minimum=0,
        maximum=_BIG,
    ),
    _switch(
        "lmtp_over_quota_perm_failure",
        "quota",
        _(
            "yes: mail for a mailbox that is over quota bounces at once (permanent error). no (the "
            "default): Postfix keeps it queued and retries, so it arrives if space is freed in time. "
            "Example: no."
        ),
        example="no",
    ),
    _switch(
        "lmtp_strict_quota",
        "quota",
        _(
            "yes: refuse a message that would push the mailbox past its quota. no (the default): accept "
            "messages until the mailbox is already over quota, so the last one may overshoot it. "
            "Example: yes."
        ),
    ),
    Param(
        "quota_db",
        Kind.CHOICE,
        "quota",
        _("The database format Cyrus keeps quota usage in. Example: quotalegacy (one file per quota root)."),
        example="quotalegacy",
        choices=("quotalegacy", "twoskip", "skiplist", "flat"),
        fixed=_(
            "Switching the format needs the existing quota data converted (cvt_cyrusdb) while Cyrus is "
            "stopped; the console keeps Cyrus's default."
        ),
    ),
    # --- Mailbox creation -----------------------------------------------------------------------------------
    Param(
        "autocreate_quota",
        Kind.TEXT,
        "autocreate",
        _(
            "-1 (the console's setting) creates no mailbox by itself: the console creates them. 0 or more "
            "makes Cyrus create a missing INBOX at the user's first login (or first delivery, see "
            "autocreate_post) with this storage quota in KiB, 0 meaning unlimited. Example: 1048576 (1 GiB)."
        ),
        unit="KiB",
        example="1048576",
        pattern=_MINUS_ONE_OR_COUNT,
    ),
    Param(
        "autocreate_quota_messages",
        Kind.TEXT,
        "autocreate",
        _(
            "The message-count quota given to an INBOX that Cyrus creates by itself; -1 sets none and 0 "
            "means unlimited. Example: 50000."
        ),
        unit="messages",
        example="50000",
        pattern=_MINUS_ONE_OR_COUNT,
    ),
    _switch(
        "autocreate_post",
        "autocreate",
        _(
            "yes: a message for a user without an INBOX creates it during delivery (needs autocreate_quota "
            "of 0 or more). no: such mail is refused until the mailbox exists. Example: yes."
        ),
    ),
    Param(
        "autocreate_inbox_folders",
        Kind.TEXT,
        "autocreate",
        _(
            "Sub-folders Cyrus adds whenever it creates an INBOX by itself, separated by |. "
            "Example: Drafts|Sent|Trash|Junk."
        ),
        example="Drafts|Sent|Trash|Junk",
        pattern=_FOLDERS,
    ),
    Param(
        "autocreate_subscribe_folders",
        Kind.TEXT,
        "autocreate",
        _(
            "Which of the automatically created sub-folders the user is subscribed to, separated by |; each "
            "must also be in autocreate_inbox_folders. Example: Drafts|Sent|Trash."
        ),
        example="Drafts|Sent|Trash",
        pattern=_FOLDERS,
    ),
    Param(
        "autocreate_subscribe_sharedfolders",
        Kind.TEXT,
        "autocreate",
        _(
            "Public folders a new INBOX's owner is subscribed to, separated by |. Each must exist and be "
            "readable by the user, or that subscription is skipped. Example: Announcements|a.test/Projects."
        ),
        example="Announcements|a.test/Projects",
        pattern=_SHARED,
    ),
    _switch(
        "autocreate_subscribe_sharedfolders_all",
        "autocreate",
        _(
            "yes: subscribe a new INBOX's owner to every public folder the user may see. Example: no (only "
            "those listed in autocreate_subscribe_sharedfolders)."
        ),
        example="no",
    ),
    Param(
        "autocreate_users",
        Kind.TEXT,
        "autocreate",
        _(
            "Who may have an INBOX created by Cyrus itself: anyone, or login names and groups "
            "(group:<container uuid>) separated by spaces. Example: anyone."
        ),
        example="anyone",
        pattern=_IDENTIFIERS,
    ),
    # --- Shared folders and names ---------------------------------------------------------------------------
    Param(
        "delete_mode",
        Kind.CHOICE,
        "folders",
        _(
            "delayed: a deleted folder is renamed below DELETED and stays recoverable until cyr_expire "
            "purges it. immediate: the folder and its messages are gone at once. Example: delayed."
        ),
        example="delayed",
        choices=("delayed", "immediate"),
    ),
    Param(
        "expunge_mode",
        Kind.CHOICE,
        "folders",
        _(
            "What happens to expunged messages: delayed keeps the files until cyr_expire purges them (they "
            "can be restored meanwhile), semidelayed removes the files but keeps index records, immediate "
            "removes both. Example: delayed."
        ),
        example="delayed",
        choices=("delayed", "semidelayed", "immediate"),
    ),
    _switch(
        "autoexpunge",
        "folders",
        _(
            "yes: messages marked deleted are expunged whenever a client closes or leaves the folder, "
            "whether or not it asked. Example: no (clients decide)."
        ),
        example="no",
    ),
    _switch(
        "allowallsubscribe",
        "folders",
        _(
            "yes: clients may subscribe to folder names that do not exist, which some clients (Outlook) "
            "expect. Example: no."
        ),
        example="no",
    ),
    _switch(
        "foolstupidclients",
        "folders",
        _(
            "yes: a LIST of everything returns only the user's own folders, hiding public and other users' "
            "folders from clients that choke on them. Example: no."
        ),
        example="no",
    ),
    _switch(
        "specialusealways",
        "folders",
        _(
            "yes: folder listings always carry the special-use marks (Drafts, Sent, Trash, ...) even when "
            "the client did not ask, which helps older clients find them. Example: yes."
        ),
    ),
    Param(
        "unixhierarchysep",
        Kind.BOOLEAN,
        "folders",
        _("yes: folder levels are separated by / (user/alice/Sent); no: by a dot. Example: yes."),
        example="yes",
        fixed=_("The console names every mailbox with / (user/alice, shared folders like a.test/Projects)."),
    ),
    Param(
        "altnamespace",
        Kind.BOOLEAN,
        "folders",
        _("yes: other users' and shared folders appear under prefixes instead of at the top. Example: no."),
        example="no",
        fixed=_("The console's folder names assume the standard namespace (user/..., shared at the top)."),
    ),
    Param(
        "sharedprefix",
        Kind.TEXT,
        "folders",
        _(
            "The name shown above public folders; only used with the alternate namespace. "
            "Example: Shared Folders."
        ),
        example="Shared Folders",
        fixed=_("Has no effect: the alternate namespace, which it belongs to, is off (see altnamespace)."),
    ),
    Param(
        "userprefix",
        Kind.TEXT,
        "folders",
        _(
            "The name shown above other users' folders; only used with the alternate namespace. "
            "Example: Other Users."
        ),
        example="Other Users",
        fixed=_("Has no effect: the alternate namespace, which it belongs to, is off (see altnamespace)."),
    ),
    Param(
        "virtdomains",
        Kind.CHOICE,
        "folders",
        _("Whether Cyrus splits login names at @ into per-domain mailbox trees. Example: off."),
        example="off",
        choices=("off", "userid", "on"),
        fixed=_("Domains live in the directory; Cyrus sees plain login names (user/alice)."),
    ),
    # --- Login and SASL -------------------------------------------------------------------------------------
    Param(
        "failedloginpause",
        Kind.TIME,
        "login",
        _(
            "How long imapd waits before answering a failed login, which slows down password guessing. "
            "A bare number is seconds; units d, h, m, s. Example: 5s (the console starts Cyrus with 3)."
        ),
        unit="seconds",
        example="5s",
        time_units=_DHMS,
        minimum=0,
        maximum=3600,
    ),
    Param(
        "maxlogins_per_user",
        Kind.NUMBER,
        "login",
        _(
            "The most IMAP sessions one login name may have open at once; 0 means no limit. The console's "
            "own administrator login counts too, so leave room for it. Example: 20."
        ),
        unit="sessions",
        example="20",
        minimum=0,
        maximum=100_000,
    ),
    Param(
        "serverinfo",
        Kind.CHOICE,
        "login",
        _(
            "How much Cyrus tells clients about itself: on shows host name and version in the greeting, "
            "min the host name only, off nothing. Example: min."
        ),
        example="min",
        choices=("on", "min", "off"),
    ),
    _switch(
        "imapidresponse",
        "login",
        _(
            "yes: answer a client's ID command with the server's version, operating system and similar "
            "details; no: answer NIL. Example: no (tells scanners less)."
        ),
        example="no",
    ),
    Param(
        "admins",
        Kind.TEXT,
        "login",
        _("Login names with administrator rights on every mailbox. Example: cyrus."),
        example="cyrus",
        fixed=_("The console manages mailboxes as this administrator; it is part of the stack's setup."),
    ),
    Param(
        "allowplaintext",
        Kind.BOOLEAN,
        "login",
        _("yes: accept passwords sent without TLS (LOGIN, PLAIN). Example: yes."),
        example="yes",
        fixed=_(
            "Cyrus is reached only over loopback (the mail proxy and the console) without TLS of its own; "
            "no would refuse every login."
        ),
    ),
    Param(
        "sasl_minimum_layer",
        Kind.NUMBER,
        "login",
        _("The smallest SASL security layer a client must negotiate (0 none, 1 integrity). Example: 0."),
        example="0",
        fixed=_(
            "Passwords are checked by saslauthd, which only offers mechanisms without a security layer; "
            "anything above 0 would refuse every login."
        ),
    ),
    Param(
        "auth_mech",
        Kind.CHOICE,
        "login",
        _("Where Cyrus learns a user's groups for folder permissions. Example: pts."),
        example="pts",
        choices=("unix", "pts"),
        fixed=_("Group permissions on folders come from the directory through ptloader (auth_mech pts)."),
    ),
    # --- Timeouts -------------------------------------------------------------------------------------------
    Param(
        "timeout",
        Kind.TIME,
        "timeouts",
        _(
            "How long an IMAP session may stay silent before Cyrus logs it out. A bare number is minutes; "
            "Cyrus never uses less than 30 minutes. Example: 45m."
        ),
        unit="minutes",
        example="45m",
        time_units=_DHMS,
        minimum=0,
        maximum=100_000,
    ),
    Param(
        "imapidletimeout",
        Kind.TIME,
        "timeouts",
        _(
            "The same limit for clients waiting in IDLE for new mail; unset, timeout applies. A bare number "
            "is minutes. Example: 60m."
        ),
        unit="minutes",
        example="60m",
        time_units=_DHMS,
        minimum=0,
        maximum=100_000,
    ),
    Param(
        "imapidlepoll",
        Kind.TIME,
        "timeouts",
        _(
            "How often a client in IDLE is checked for new mail; 0 switches IDLE off. A bare number is "
            "seconds. Example: 30s."
        ),
        unit="seconds",
        example="30s",
        time_units=_DHMS,
        minimum=0,
        maximum=100_000,
    ),
    _switch(
        "tcp_keepalive",
        "timeouts",
        _(
            "yes: Cyrus asks the kernel to probe idle TCP connections, so sessions of clients that vanished "
            "are noticed. Example: yes."
        ),
    ),
    Param(
        "tcp_keepalive_idle",
        Kind.TIME,
        "timeouts",
        _(
            "With tcp_keepalive: how long a connection is idle before the first probe; 0 uses the kernel's "
            "setting. A bare number is seconds. Example: 10m."
        ),
        unit="seconds",
        example="10m",
        time_units=_DHMS,
        minimum=0,
        maximum=100_000,
    ),
    # --- Logging --------------------------------------------------------------------------------------------
    _switch(
        "debug",
        "logging",
        _(
            "yes: also send Cyrus's debug-level messages to syslog; verbose, meant for tracking down a "
            "problem. Example: no."
        ),
        example="no",
    ),
    _switch(
        "auditlog",
        "logging",
        _(
            "yes: log one line for every change to a message file or to the mailbox list, useful to find "
            "out what happened to a message. Example: yes."
        ),
    ),
    _switch(
        "chatty",
        "logging",
        _("yes: log every IMAP command and every LMTP mailbox, which fills logs quickly. Example: no."),
        example="no",
    ),
    _switch(
        "iolog",
        "logging",
        _("yes: record how many bytes each process reads and writes. Example: no."),
        example="no",
    ),
    Param(
        "commandmintimer",
        Kind.TEXT,
        "logging",
        _(
            "Log every IMAP command that runs longer than this many seconds (fractions allowed), to find "
            "slow operations. Example: 5.0."
        ),
        unit="seconds",
        example="5.0",
        pattern=_SECONDS_FRACTION,
    ),
    Param(
        "syslog_prefix",
        Kind.TEXT,
        "logging",
        _("The tag before Cyrus's lines in syslog. Example: mailadmin."),
        example="mailadmin",
        fixed=_("The console's log views find Cyrus's lines by this tag."),
    ),
    # --- LMTP delivery --------------------------------------------------------------------------------------
    Param(
        "maxmessagesize",
        Kind.SIZE,
        "lmtp",
        _(
            "Largest message Cyrus accepts for delivery, in bytes; 0 means no limit of its own. Keep it at "
            "or above Postfix's message_size_limit, or mail Postfix accepted bounces here. Example: 52428800."
        ),
        unit="bytes",
        example="52428800",
        minimum=0,
        maximum=_BIG,
    ),
    _switch(
        "lmtp_fuzzy_mailbox_match",
        "lmtp",
        _(
            "yes: for alice+Projects@... deliver to the closest existing folder (ignoring case and spaces, "
            "else a parent) when Projects does not exist. Example: yes."
        ),
    ),
    _switch(
        "lmtp_strict_rfc2821",
        "lmtp",
        _(
            "yes (the default): refuse envelope addresses with 8-bit characters in the local part; no: "
            "replace them with X and deliver. Example: yes."
        ),
    ),
    _switch(
        "reject8bit",
        "lmtp",
        _("yes: refuse messages whose headers contain raw 8-bit characters. Example: no."),
        example="no",
    ),
    _switch(
        "munge8bit",
        "lmtp",
        _(
            "yes: replace raw 8-bit characters in headers with X instead of storing them; ignored when "
            "reject8bit is on. Example: yes."
        ),
    ),
    Param(
        "maxheaderlines",
        Kind.NUMBER,
        "lmtp",
        _(
            "How many header lines of a message Cyrus indexes; the rest are skipped and logged, 0 means all. "
            "Protects the cache from malformed mail. Example: 1000."
        ),
        unit="lines",
        example="1000",
        minimum=0,
        maximum=1_000_000,
    ),
    Param(
        "lmtp_downcase_rcpt",
        Kind.BOOLEAN,
        "lmtp",
        _("yes: turn a recipient's local part to lower case before finding its mailbox. Example: yes."),
        example="yes",
        fixed=_("Mailbox names are lower-case login names; mail for Alice@ must reach user/alice."),
    ),
    Param(
        "lmtpsocket",
        Kind.PATH,
        "lmtp",
        _("The Unix socket lmtpd listens on for local delivery. Example: /run/cyrus/socket/lmtp."),
        example="/run/cyrus/socket/lmtp",
        fixed=_("Postfix delivers through this socket; the console places it in the stack's run directory."),
    ),
    # --- Duplicate suppression ------------------------------------------------------------------------------
    _switch(
        "duplicatesuppression",
        "duplicates",
        _(
            "yes: a message whose Message-ID was already delivered to the same folder is dropped, so a mail "
            "sent to a user by several routes (alias and direct) lands once. Example: yes."
        ),
    ),
    _switch(
        "singleinstancestore",
        "duplicates",
        _(
            "yes: a message delivered to several mailboxes on the same partition is stored once and "
            "hard-linked, saving disk space. Example: yes."
        ),
    ),
    Param(
        "duplicate_db",
        Kind.CHOICE,
        "duplicates",
        _("The database format of the delivery records duplicate suppression uses. Example: twoskip."),
        example="twoskip",
        choices=("twoskip", "skiplist"),
        fixed=_("Switching the format needs the database converted while Cyrus is stopped."),
    ),
    # --- Sieve ----------------------------------------------------------------------------------------------
    Param(
        "sieve_maxscriptsize",
        Kind.SIZE,
        "sieve",
        _("The largest Sieve script a user may upload, in KiB. Example: 64."),
        unit="KiB",
        example="64",
        minimum=1,
        maximum=10_240,
    ),
    Param(
        "sieve_maxscripts",
        Kind.NUMBER,
        "sieve",
        _("How many Sieve scripts one user may keep (only one is active at a time). Example: 10."),
        unit="scripts",
        example="10",
        minimum=1,
        maximum=1000,
    ),
    Param(
        "sieve_extensions",
        Kind.TEXT,
        "sieve",
        _(
            "The Sieve extensions a newly uploaded script may use, separated by spaces; scripts already "
            "stored keep working. Example: fileinto reject vacation imap4flags copy."
        ),
        example="fileinto reject vacation vacation-seconds envelope body relational subaddress copy "
        "imap4flags variables date index include mailbox",
        pattern=_SIEVE_LIST,
    ),
    Param(
        "sieve_vacation_min_response",
        Kind.TIME,
        "sieve",
        _(
            "The shortest interval a vacation script may ask for between two replies to the same sender. "
            "A bare number is seconds. Example: 1d."
        ),
        unit="seconds",
        example="1d",
        time_units=_DHMS,
        minimum=0,
        maximum=100_000_000,
    ),
    Param(
        "sieve_vacation_max_response",
        Kind.TIME,
        "sieve",
        _(
            "The longest such interval (Cyrus does not go below 7 days). A bare number is seconds. "
            "Example: 30d."
        ),
        unit="seconds",
        example="30d",
        time_units=_DHMS,
        minimum=0,
        maximum=100_000_000,
    ),
    Param(
        "sieve_duplicate_max_expiration",
        Kind.TIME,
        "sieve",
        _(
            "How long Sieve's duplicate test may remember a message at most. A bare number is seconds. "
            "Example: 30d."
        ),
        unit="seconds",
        example="30d",
        time_units=_DHMS,
        minimum=0,
        maximum=100_000_000,
    ),
    _switch(
        "sieve_utf8fileinto",
        "sieve",
        _(
            "yes: folder names in fileinto are plain UTF-8 (Entwürfe); no: they must be in IMAP's modified "
            "UTF-7. Example: yes."
        ),
    ),
    _switch(
        "sieve_use_lmtp_reject",
        "sieve",
        _(
            "yes: a script's reject is answered during delivery with an error, and Postfix writes the "
            "bounce; no: Cyrus sends a bounce message of its own. Example: yes."
        ),
    ),
    Param(
        "sieveusehomedir",
        Kind.BOOLEAN,
        "sieve",
        _("yes: look for Sieve scripts in each user's Unix home directory. Example: no."),
        example="no",
        fixed=_("Accounts live in the directory and have no Unix home; scripts stay in Cyrus's sieve store."),
    ),
    # --- Server and storage ---------------------------------------------------------------------------------
    Param(
        "configdirectory",
        Kind.PATH,
        "server",
        _("Where Cyrus keeps its databases (mailbox list, quotas, seen state). Example: /var/lib/cyrus."),
        example="/var/lib/cyrus",
        fixed=_("Set from the stack's layout; moving it needs the databases moved with Cyrus stopped."),
    ),
    Param(
        "servername",
        Kind.HOST,
        "server",
        _("The host name Cyrus uses for itself in greetings and logs. Example: mail.example.org."),
        example="mail.example.org",
        fixed=_("Taken from the stack's configuration."),
    ),
    Param(
        "hashimapspool",
        Kind.BOOLEAN,
        "server",
        _("yes: spread mailboxes over hashed sub-directories of the spool. Example: yes."),
        example="yes",
        fixed=_("The spool's directory layout depends on it; changing it would hide every existing mailbox."),
    ),
)

CYRUS = Registry(
    service="cyrus",
    title=_("Cyrus IMAP"),
    file="imapd.conf",
    groups=GROUPS,
    params=PARAMS,
)
