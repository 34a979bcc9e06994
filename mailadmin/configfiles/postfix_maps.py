"""Every `ldap:` table of the contract (contract.py) bound to one directory, the main.cf and master.cf lines
that name them, and their installation. The private stack (mailadmin/stack/mail.py) renders its tables and
main.cf from here; `manage.py render_postfix DIR` writes the same tables and two fragments for a system
Postfix (docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from mailadmin import postfix
from mailadmin.configfiles import contract as c
from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import atomic_write, with_header
from mailadmin.configfiles.postfix.main_cf import virtual_settings
from mailadmin.configfiles.postfix.master_cf import alias_policy_service, service_line, submission_checks
from mailadmin.configfiles.postfix.params import AliasSenders, LocalOnly
from mailadmin.configfiles.postfix.restrictions import (
    local_only_settings,
    sender_login_settings,
    with_alias_senders,
    with_submission_recipients,
)
from mailadmin.configfiles.postfix_tables import LdapTable, install_ldap_table, render_ldap_table

SOURCE = "mailadmin/configfiles/postfix_maps.py"
MAIN_FRAGMENT = "main.cf.fragment"
MASTER_FRAGMENT = "master.cf.fragment"
# The policy behind Restricted aliases (aliases/sender_policy.py) runs under the system interpreter: it needs
# the standard library only, and the spawned process runs as `nobody`, which must not depend on the console's
# virtualenv.
POLICY_SCRIPT = Path(__file__).resolve().parents[2] / "aliases" / "sender_policy.py"
POLICY_PYTHON = "/usr/bin/python3"


class LookupTables(TypedDict):
    """The PostfixParams fields that name lookup tables (`PostfixParams(..., **maps.lookup_tables())`)."""

    domain_tables: Sequence[str]
    alias_tables: Sequence[str]
    mailbox_tables: Sequence[str]
    extra_alias_tables: Sequence[str]
    forward_tables: Sequence[str]
    late_alias_tables: Sequence[str]
    alias_domain_tables: Sequence[str]
    sender_login_tables: Sequence[str]
    local_only: LocalOnly
    alias_senders: AliasSenders


def bind_tables(
    specs: Iterable[c.TableSpec],
    *,
    server_uri: str,
    bind_dn: str,
    bind_pw: str,
    base_dn: str,
    mailbox_domain: str = "",
    hosted_domains: str = "",
    settings: Mapping[str, str] | None = None,
) -> list[LdapTable]:
    """The tables of `specs` for one directory. `hosted_domains`: the table ref (TYPE:/path) of the domain
    table, for the tables that look up keys of hosted domains only."""
    tables = []
    for spec in specs:
        result_format = f"%s@{mailbox_domain}" if spec.result_in_mailbox_domain else spec.result_format
        tables.append(
            LdapTable(
                name=spec.name,
                server_uri=server_uri,
                bind_dn=bind_dn,
                bind_pw=bind_pw,
                search_base=f"{spec.container},{base_dn}",
                query_filter=spec.query_filter,
                result_attribute=spec.result_attribute,
                result_format=result_format,
                settings=dict(settings or {}),
                scope=spec.scope,
                domains=(mailbox_domain,) if spec.mailbox_domain_keys else (),
                domain_tables=(hosted_domains,) if spec.hosted_domain_keys else (),
            )
        )
    return tables


def domain_alias_senders(
    table: Callable[[str], str], local_domains: str, *, policy_argv: Sequence[str] = ()
) -> AliasSenders:
    """`table(name)` gives the `ldap:/path` of a table of the contract; `local_domains` the table that answers
    OK for an address of a hosted domain."""
    return AliasSenders(
        restricted_tables=(table(c.ALIAS_RESTRICTED_TABLE),),
        closed_tables=(table(c.ALIAS_CLOSED_TABLE),),
        local_domain_tables=(local_domains,),
        policy_argv=tuple(policy_argv) or (POLICY_PYTHON, str(POLICY_SCRIPT)),
    )


@dataclass(frozen=True)
class PostfixMaps:
    """The tables in `table_dir`, binding to `server_uri` as `bind_dn`; addresses are delivered to
    <uid>@`mailbox_domain`."""

    server_uri: str
    base_dn: str
    bind_dn: str
    bind_pw: str
    mailbox_domain: str
    table_dir: Path
    # More ldap_table(5) settings for every table (the menu's `ldap_*` values without their prefix)
    settings: Mapping[str, str] = field(default_factory=dict)

    def ref(self, name: str) -> str:
        return f"ldap:{self.table_dir}/{name}.cf"

    def tables(self) -> list[LdapTable]:
        return bind_tables(
            c.TABLES,
            server_uri=self.server_uri,
            bind_dn=self.bind_dn,
            bind_pw=self.bind_pw,
            base_dn=self.base_dn,
            mailbox_domain=self.mailbox_domain,
            hosted_domains=self.ref(c.DOMAINS_TABLE.name),
            settings=self.settings,
        )

    def lookup_tables(self) -> LookupTables:
        ref = self.ref
        return {
            "domain_tables": (ref(c.DOMAINS_TABLE.name),),
            "alias_tables": (ref(c.ACCOUNTS_TABLE.name),),
            # forwards before accounts; domain aliases right after them; system aliases, catch-all and alias
            # domains after every other map
            "forward_tables": tuple(ref(n) for n in c.ADDRESS_FORWARD_TABLES),
            "extra_alias_tables": tuple(ref(n) for n in c.ALIAS_MAP_TABLES),
            "late_alias_tables": tuple(ref(n) for n in c.ADDRESS_LATE_TABLES),
            "alias_domain_tables": (ref(c.ADDRESS_ALIAS_DOMAINS_TABLE),),
            "mailbox_tables": (ref(c.MAILBOXES_TABLE.name),),
            "sender_login_tables": (ref(c.SENDER_LOGINS_TABLE),),
            "local_only": LocalOnly(
                local_domain_tables=(ref(c.LOCAL_DOMAINS_TABLE),),
                send_login_tables=(ref(c.SEND_LOCAL_ONLY_LOGINS_TABLE),),
                send_sender_tables=(ref(c.SEND_LOCAL_ONLY_SENDERS_TABLE),),
                receive_tables=tuple(ref(n) for n in c.RECEIVE_LOCAL_ONLY_TABLES),
            ),
            "alias_senders": domain_alias_senders(ref, ref(c.LOCAL_DOMAINS_TABLE)),
        }

    def main_cf_settings(self) -> list[tuple[str, str]]:
        """The main.cf parameters that name the tables, as the stack's main.cf has them apart from the relay
        rules' policy checks (manage.py policyd, docs/relay-rules.md)."""
        t = self.lookup_tables()
        mailbox_domain = v.host("mailbox_domain", self.mailbox_domain)
        settings = virtual_settings(
            mailbox_domain,
            domain_tables=t["domain_tables"],
            forward_tables=t["forward_tables"],
            alias_tables=t["alias_tables"],
            extra_alias_tables=t["extra_alias_tables"],
            late_alias_tables=t["late_alias_tables"],
            alias_domain_tables=t["alias_domain_tables"],
            mailbox_tables=t["mailbox_tables"],
        )
        settings += sender_login_settings(t["sender_login_tables"], sasl=True)
        settings += local_only_settings(t["local_only"], mailbox_domain)
        settings = with_alias_senders(settings, t["alias_senders"], mailbox_domain)
        return with_submission_recipients(settings)

    def submission_options(self) -> list[tuple[str, str]]:
        t = self.lookup_tables()
        return submission_checks(
            local_only=t["local_only"], sender_login_tables=t["sender_login_tables"], relay_policy=None
        )

    def main_cf_fragment(self) -> str:
        """`name = value` lines for main.cf (or `postconf -e`)."""
        body = "".join(f"{key} = {value}\n" for key, value in self.main_cf_settings())
        return with_header(body, source=SOURCE)

    def master_cf_fragment(self) -> str:
        """The alias policy service, and (as comments) the options the submission service needs."""
        options = "".join(f"#   -o {key}={value}\n" for key, value in self.submission_options())
        body = (
            alias_policy_service(self.lookup_tables()["alias_senders"])
            + "# Add to the submission service, after its own -o lines (with smtpd_sasl_auth_enable=yes):\n"
            + options
        )
        return with_header(body, source=SOURCE)

    def check(self) -> None:
        """Render everything once: ConfigValueError for any bad value before a file is written."""
        v.path("table_dir", self.table_dir)
        for table in self.tables():
            render_ldap_table(table)
        self.main_cf_fragment()
        self.master_cf_fragment()


def install_tables(maps: PostfixMaps, *, config_dir: Path, group: str = "postfix") -> list[Path]:
    """Write every table into maps.table_dir (mode 0640, `group`: they hold bind_pw and the lookups run as
    user postfix), each proved with `postmap -q` (config_dir: the Postfix whose postmap asks) before it
    replaces the old one. In contract order: `domains` is in place before the tables that name it."""
    return [
        install_ldap_table(table, maps.table_dir / f"{table.name}.cf", config_dir=config_dir, group=group)
        for table in maps.tables()
    ]


def write_postfix_maps(maps: PostfixMaps, *, config_dir: Path, group: str = "postfix") -> list[Path]:
    """What `manage.py render_postfix` writes: the tables, then main.cf.fragment and master.cf.fragment once
    Postfix has read them without a warning (a scratch config dir holding the fragments plus a submission
    service using the options, `postconf -n`, which also opens every table file they name)."""
    maps.check()  # nothing is written for a bad value
    main, master = maps.main_cf_fragment(), maps.master_cf_fragment()
    created = not maps.table_dir.exists()
    maps.table_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    try:
        written = install_tables(maps, config_dir=config_dir, group=group)
    except BaseException:
        if created:  # a refused first table leaves nothing behind, not even the directory
            with contextlib.suppress(OSError):
                maps.table_dir.rmdir()
        raise
    submission = service_line(
        "submission", "inet", "n", "-", "n", "-", "-", "smtpd",
        options=(("smtpd_sasl_auth_enable", "yes"), *maps.submission_options()),
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mailadmin-postconf-") as scratch:
        # backdated: Postfix naps while a main.cf is younger than two seconds
        atomic_write(Path(scratch) / "main.cf", main, backdate=3)
        atomic_write(Path(scratch) / "master.cf", master + submission, backdate=3)
        postfix.postconf_n(scratch)  # PostfixError on any warning
    for name, text in ((MAIN_FRAGMENT, main), (MASTER_FRAGMENT, master)):
        written.append(atomic_write(maps.table_dir / name, text, mode=0o644))
    return written
