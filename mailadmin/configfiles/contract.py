"""The contract between the directory and Postfix: which entry and attribute means what, and how each `ldap:`
table asks slapd for it. Pure constants (no `ldap` import): the private stack and `manage.py render_postfix`
(a system Postfix) both render their tables from here through mailadmin/configfiles/postfix_maps.py.

Attribute and class names are those of the standard schemas and of mailadmin/directory/schema/mailadmin.ldif.
Filters use ldap_table(5)'s expansions: %s the whole key, %u its local part, %d its domain. An access-table
lookup also tries the bare domain and `user@`; filters written with %u@%d never send those keys to slapd.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- object classes ---------------------------------------------------------------------------------------
DOMAIN_CLASS = "mailDomain"
ACCOUNT_CLASS = "mailAccount"
ALIAS_CLASS = "mailAliasEntry"  # an alias of a domain (ALI-03)
SYSTEM_ALIAS_CLASS = "nisMailAlias"  # a system alias, valid in every hosted domain

# --- attributes -------------------------------------------------------------------------------------------
DOMAIN_NAME = "dc"  # of a mailDomain: the domain itself
LOGIN = "uid"  # of an account: its login, and the name of its mailbox
ADDRESS = "mail"  # primary address of an account or of a domain alias
EXTRA_ADDRESS = "mailAlias"  # more addresses of an account
ENABLED = "mailEnabled"  # FALSE: the account neither receives nor sends (absent counts as enabled)
FORWARD = "mailForward"  # forward targets of an account
KEEP_COPY = "mailKeepCopy"  # TRUE: forwarding also keeps a copy in the mailbox
CATCH_ALL = "mailCatchAll"  # of a mailDomain: where mail to unknown addresses goes
DOMAIN_ALIAS = "mailDomainAlias"  # of a mailDomain: other domains whose addresses mean this one's
SEND_LOCAL_ONLY = "mailSendLocalOnly"  # TRUE: "Send only local mail"
RECEIVE_LOCAL_ONLY = "mailReceiveLocalOnly"  # TRUE: "Receive only local mail"
MEMBER = "rfc822MailMember"  # members of an alias (any address)
ALIAS_OPEN = "mailAliasOpen"  # TRUE: Open Membership, anyone may write to the alias
ALIAS_RESTRICTED = "mailAliasRestricted"  # TRUE: Restricted, only senders of the alias's own domain
SYSTEM_ALIAS_NAME = "cn"  # of a system alias: the local part it answers for

# --- where the entries live (relative to the base DN) -----------------------------------------------------
DOMAINS = "ou=domains"
SYSTEM_ALIASES = "ou=system-aliases"

# --- restriction classes: what trigger tables answer, and the main.cf parameters of that name -------------
SEND_LOCAL_ONLY_CLASS = "mailadmin_send_local_only"
RECEIVE_LOCAL_ONLY_CLASS = "mailadmin_receive_local_only"
ALIAS_LOCAL_SENDERS_CLASS = "mailadmin_alias_local_senders"  # alias without Open Membership
ALIAS_SAME_DOMAIN_CLASS = "mailadmin_alias_same_domain"  # Restricted alias

# --- filter parts -----------------------------------------------------------------------------------------
TRUE = "TRUE"
# A disabled account is unknown to Postfix: 550 at RCPT.
ENABLED_ACCOUNT = f"(objectClass={ACCOUNT_CLASS})(!({ENABLED}=FALSE))"
# The key is one of the account's addresses.
ANY_ADDRESS = f"(|({ADDRESS}=%s)({EXTRA_ADDRESS}=%s))"
ANY_ADDRESS_UD = f"(|({ADDRESS}=%u@%d)({EXTRA_ADDRESS}=%u@%d))"
_ALIAS_BY_ADDRESS = f"(objectClass={ALIAS_CLASS})({ADDRESS}=%u@%d)"


@dataclass(frozen=True)
class TableSpec:
    """One `ldap:` table, apart from where the directory is and how to bind (postfix_maps.py adds those)."""

    name: str
    query_filter: str
    result_attribute: str
    result_format: str = ""
    scope: str = "sub"
    container: str = DOMAINS
    # the answer becomes <answer>@<mailbox domain>: Cyrus knows mailboxes by login
    result_in_mailbox_domain: bool = False
    # keys of the mailbox domain only (ldap_table `domain`)
    mailbox_domain_keys: bool = False
    # keys of hosted domains only (the `domains` table as ldap_table `domain`)
    hosted_domain_keys: bool = False


# --- routing: domains, accounts, mailboxes ----------------------------------------------------------------
DOMAINS_TABLE = TableSpec(
    name="domains",
    query_filter=f"(&(objectClass={DOMAIN_CLASS})({DOMAIN_NAME}=%s))",
    result_attribute=DOMAIN_NAME,
    scope="one",
)
# Every address of an account becomes <uid>@<mailbox domain>.
ACCOUNTS_TABLE = TableSpec(
    name="accounts",
    query_filter=f"(&{ENABLED_ACCOUNT}{ANY_ADDRESS})",
    result_attribute=LOGIN,
    result_in_mailbox_domain=True,
)
MAILBOXES_TABLE = TableSpec(
    name="mailboxes",
    query_filter=f"(&{ENABLED_ACCOUNT}({LOGIN}=%u))",
    result_attribute=LOGIN,
    mailbox_domain_keys=True,
)

# --- user addresses (docs/aliases.md, "System aliases, addresses, explain") --------------------------------
# virtual_alias_maps asks every table for the full address first and only then every table for `@domain`;
# the first answer wins and is expanded again. Forwards come before the account map (they answer for the
# same addresses; keep copy answers the targets plus the bare login, which Postfix qualifies with $myorigin =
# the mailbox domain). System aliases, catch-all and alias domains come after every other map, so an
# account or domain alias of the same name wins; catch-all and alias domain answer any address of their
# domain (%d), which only matters for unknown addresses.
ADDRESS_TABLES = (
    TableSpec(
        name="addr-forwards-keep",
        query_filter=f"(&{ENABLED_ACCOUNT}({KEEP_COPY}={TRUE})({FORWARD}=*){ANY_ADDRESS})",
        result_attribute=f"{FORWARD},{LOGIN}",
    ),
    TableSpec(
        name="addr-forwards",
        query_filter=f"(&{ENABLED_ACCOUNT}(!({KEEP_COPY}={TRUE}))({FORWARD}=*){ANY_ADDRESS})",
        result_attribute=FORWARD,
    ),
    # only keys of hosted domains: `postmaster@gmail.com` sent by a local user is never captured
    TableSpec(
        name="addr-system-aliases",
        query_filter=f"(&(objectClass={SYSTEM_ALIAS_CLASS})({SYSTEM_ALIAS_NAME}=%u))",
        result_attribute=MEMBER,
        scope="one",
        container=SYSTEM_ALIASES,
        hosted_domain_keys=True,
    ),
    TableSpec(
        name="addr-catch-all",
        query_filter=f"(&(objectClass={DOMAIN_CLASS})({CATCH_ALL}=*)({DOMAIN_NAME}=%d))",
        result_attribute=CATCH_ALL,
        scope="one",
    ),
    # x@b.test -> @a.test, which Postfix turns into x@a.test (a result starting with @ keeps the user)
    TableSpec(
        name="addr-alias-domain-rewrite",
        query_filter=f"(&(objectClass={DOMAIN_CLASS})({DOMAIN_ALIAS}=%d))",
        result_attribute=DOMAIN_NAME,
        result_format="@%s",
        scope="one",
    ),
    # virtual_alias_domains: the alias domains are accepted (key: the domain name)
    TableSpec(
        name="addr-alias-domains",
        query_filter=f"(&(objectClass={DOMAIN_CLASS})({DOMAIN_ALIAS}=%s))",
        result_attribute=DOMAIN_ALIAS,
        scope="one",
    ),
)
ADDRESS_FORWARD_TABLES = ("addr-forwards-keep", "addr-forwards")
ADDRESS_LATE_TABLES = ("addr-system-aliases", "addr-catch-all", "addr-alias-domain-rewrite")
ADDRESS_ALIAS_DOMAINS_TABLE = "addr-alias-domains"

# --- aliases of a domain (ALI-03; docs/decisions/0006-alias-senders.md) -----------------------------------
# `ali-members` (virtual_alias_maps, after the account map): the alias -> its members; Postfix expands each
# answer again, so a member that is a user becomes its mailbox and a member that is an alias expands in turn.
# `ali-restricted` / `ali-closed` (RCPT TO as the key) answer the restriction class of a Restricted alias and
# of an alias without Open Membership. An alias with Open Membership is in neither: anyone may write.
ALIAS_TABLES = (
    TableSpec(
        name="ali-members",
        query_filter=f"(&(objectClass={ALIAS_CLASS})({ADDRESS}=%s))",
        result_attribute=MEMBER,
    ),
    TableSpec(
        name="ali-restricted",
        query_filter=f"(&{_ALIAS_BY_ADDRESS}({ALIAS_RESTRICTED}={TRUE}))",
        result_attribute=ADDRESS,
        result_format=ALIAS_SAME_DOMAIN_CLASS,
    ),
    TableSpec(
        name="ali-closed",
        query_filter=f"(&{_ALIAS_BY_ADDRESS}(!({ALIAS_OPEN}={TRUE}))(!({ALIAS_RESTRICTED}={TRUE})))",
        result_attribute=ADDRESS,
        result_format=ALIAS_LOCAL_SENDERS_CLASS,
    ),
)
ALIAS_MAP_TABLES = ("ali-members",)
ALIAS_RESTRICTED_TABLE = "ali-restricted"
ALIAS_CLOSED_TABLE = "ali-closed"

# --- who may send as whom, "Send/Receive only local mail" (ACC-07; docs/decisions/0005) --------------------
SENDER_LOGINS_TABLE = "sender-logins"
LOCAL_DOMAINS_TABLE = "local-domains"
SEND_LOCAL_ONLY_LOGINS_TABLE = "send-local-only-logins"
SEND_LOCAL_ONLY_SENDERS_TABLE = "send-local-only-senders"
RECEIVE_LOCAL_ONLY_TABLES = ("receive-local-only", "receive-local-only-mailboxes")
SENDER_TABLES = (
    # smtpd_sender_login_maps: which login owns a MAIL FROM address
    TableSpec(
        name=SENDER_LOGINS_TABLE,
        query_filter=f"(&{ENABLED_ACCOUNT}{ANY_ADDRESS_UD})",
        result_attribute=LOGIN,
    ),
    # an address whose domain is hosted here -> OK
    TableSpec(
        name=LOCAL_DOMAINS_TABLE,
        query_filter=f"(&(objectClass={DOMAIN_CLASS})({DOMAIN_NAME}=%d))",
        result_attribute=DOMAIN_NAME,
        result_format="OK",
        scope="one",
    ),
    TableSpec(
        name=SEND_LOCAL_ONLY_LOGINS_TABLE,
        query_filter=f"(&(objectClass={ACCOUNT_CLASS})({SEND_LOCAL_ONLY}={TRUE})({LOGIN}=%s))",
        result_attribute=LOGIN,
        result_format=SEND_LOCAL_ONLY_CLASS,
    ),
    TableSpec(
        name=SEND_LOCAL_ONLY_SENDERS_TABLE,
        query_filter=f"(&(objectClass={ACCOUNT_CLASS})({SEND_LOCAL_ONLY}={TRUE}){ANY_ADDRESS_UD})",
        result_attribute=LOGIN,
        result_format=SEND_LOCAL_ONLY_CLASS,
    ),
    TableSpec(
        name=RECEIVE_LOCAL_ONLY_TABLES[0],
        query_filter=f"(&(objectClass={ACCOUNT_CLASS})({RECEIVE_LOCAL_ONLY}={TRUE}){ANY_ADDRESS_UD})",
        result_attribute=LOGIN,
        result_format=RECEIVE_LOCAL_ONLY_CLASS,
    ),
    # the delivery address uid@<mailbox domain> must not be a way around the flag
    TableSpec(
        name=RECEIVE_LOCAL_ONLY_TABLES[1],
        query_filter=f"(&(objectClass={ACCOUNT_CLASS})({RECEIVE_LOCAL_ONLY}={TRUE})({LOGIN}=%u))",
        result_attribute=LOGIN,
        result_format=RECEIVE_LOCAL_ONLY_CLASS,
        mailbox_domain_keys=True,
    ),
)

# Every table, in the order they are installed: `domains` first, because addr-system-aliases names it.
TABLES = (DOMAINS_TABLE, ACCOUNTS_TABLE, *ADDRESS_TABLES, *ALIAS_TABLES, MAILBOXES_TABLE, *SENDER_TABLES)
