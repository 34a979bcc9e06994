"""The contract between the directory and Postfix (mailadmin/configfiles/contract.py): every name it uses is
one slapd knows, every filter is well formed, and the stack renders its tables and main.cf from it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from mailadmin import postfix
from mailadmin.configfiles import contract
from mailadmin.configfiles.postfix_maps import PostfixMaps
from mailadmin.configfiles.postfix_tables import render_ldap_table

ATTRIBUTES = [
    contract.DOMAIN_NAME,
    contract.LOGIN,
    contract.ADDRESS,
    contract.EXTRA_ADDRESS,
    contract.ENABLED,
    contract.FORWARD,
    contract.KEEP_COPY,
    contract.CATCH_ALL,
    contract.DOMAIN_ALIAS,
    contract.SEND_LOCAL_ONLY,
    contract.RECEIVE_LOCAL_ONLY,
    contract.MEMBER,
    contract.ALIAS_OPEN,
    contract.ALIAS_RESTRICTED,
    contract.SYSTEM_ALIAS_NAME,
]
CLASSES = [contract.DOMAIN_CLASS, contract.ACCOUNT_CLASS, contract.ALIAS_CLASS, contract.SYSTEM_ALIAS_CLASS]


def _stack_maps() -> PostfixMaps:
    """The maps as the private stack binds them (mailadmin/stack/mail.py, Postfix.maps)."""
    return PostfixMaps(
        server_uri=str(settings.LDAP_URI),
        base_dn=str(settings.LDAP_BASE_DN),
        bind_dn=os.environ["LDAP_POSTFIX_DN"],
        bind_pw=os.environ["LDAP_POSTFIX_PASSWORD"],
        mailbox_domain=str(settings.MAILBOX_DOMAIN),
        table_dir=Path(settings.POSTFIX_CONFIG_DIR),
    )


def test_table_names_are_unique_and_domains_comes_first() -> None:
    names = [spec.name for spec in contract.TABLES]
    assert len(names) == len(set(names)) == 18
    assert names[0] == contract.DOMAINS_TABLE.name  # addr-system-aliases names it: installed before
    grouped = (
        contract.ADDRESS_FORWARD_TABLES
        + contract.ADDRESS_LATE_TABLES
        + contract.ALIAS_MAP_TABLES
        + contract.RECEIVE_LOCAL_ONLY_TABLES
        + (contract.ADDRESS_ALIAS_DOMAINS_TABLE, contract.ALIAS_RESTRICTED_TABLE, contract.ALIAS_CLOSED_TABLE)
        + (contract.SENDER_LOGINS_TABLE, contract.LOCAL_DOMAINS_TABLE)
        + (contract.SEND_LOCAL_ONLY_LOGINS_TABLE, contract.SEND_LOCAL_ONLY_SENDERS_TABLE)
    )
    assert set(grouped) <= set(names)


@pytest.mark.parametrize("spec", contract.TABLES, ids=lambda s: s.name)
def test_filters_are_balanced_and_name_only_known_attributes(spec: contract.TableSpec) -> None:
    depth = 0
    for ch in spec.query_filter:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0 and spec.query_filter.startswith("(")
    named = set(re.findall(r"\(!?\(?([A-Za-z][A-Za-z0-9]*)=", spec.query_filter))
    assert named <= {*ATTRIBUTES, "objectClass"}, named
    assert set(spec.result_attribute.split(",")) <= set(ATTRIBUTES)


def test_every_name_is_in_the_running_schema(stack: object) -> None:
    argv = ["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", settings.LDAP_URI]
    argv += [
        "-D",
        settings.LDAP_ADMIN_DN,
        "-w",
        settings.LDAP_ADMIN_PASSWORD,
        "-s",
        "base",
        "-b",
        "cn=Subschema",
    ]
    argv += ["(objectClass=*)", "attributeTypes", "objectClasses"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    # NAME 'one' or NAME ( 'one' 'other' )
    names = re.findall(r"NAME (\( [^)]*\)|'[^']+')", result.stdout)
    known = {quoted.lower() for group in names for quoted in re.findall(r"'([^']+)'", group)}
    for name in [*ATTRIBUTES, *CLASSES]:
        assert name.lower() in known, name


def test_the_stack_renders_its_tables_from_the_contract(stack: object) -> None:
    """The files the running stack uses are byte for byte what the builder renders for its values."""
    etc = Path(settings.POSTFIX_CONFIG_DIR)
    maps = _stack_maps()
    for table in maps.tables():
        assert (etc / f"{table.name}.cf").read_text() == render_ldap_table(table), table.name
    on_disk = {p.stem for p in etc.glob("*.cf")} - {"main", "master"}
    assert on_disk == {spec.name for spec in contract.TABLES}


def _without_relay_checks(value: str) -> str:
    # the stack's main.cf also asks the relay rules' policy service (manage.py policyd) first, then the
    # administrator's UCE checks (two $parameters)
    return ", ".join(
        r for r in value.split(", ") if not r.startswith(("check_policy_service {", "$mailadmin_uce_"))
    )


def test_the_main_cf_lines_are_the_stacks(stack: object) -> None:
    running = postfix.postconf_n(settings.POSTFIX_CONFIG_DIR)
    settings_ = dict(_stack_maps().main_cf_settings())
    assert {"virtual_alias_maps", "smtpd_restriction_classes", contract.SEND_LOCAL_ONLY_CLASS} <= set(
        settings_
    )
    for key, value in settings_.items():
        assert _without_relay_checks(running[key]) == value, key
