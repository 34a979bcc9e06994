"""The Postfix registry of the Configuration menu: real parameter names (asked from the installed Postfix),
enough editable ones in the SCOoffice groups, help for each, examples the checks accept, defaults the checks
accept, and hostile values refused for every editable parameter. No stack needed."""

from __future__ import annotations

import functools
import shutil
import subprocess

import pytest

from mailadmin.configfiles import contract
from mailadmin.configfiles import values as v
from mailadmin.configfiles.postfix.params import UCE_RBL_SITES, UCE_RECIPIENT_CHECKS
from mailadmin.configfiles.postfix_tables import MENU_SETTINGS, LdapTable, render_ldap_table
from mailadmin.configfiles.registry import MAX_VALUE, Kind, Param, check
from mailadmin.configfiles.registry.postfix import POSTFIX
from mailadmin.configfiles.registry.postfix_ldap import LDAP_URI

POSTCONF = "/usr/sbin/postconf"
ALLOWED = ["/etc/ssl", "/etc/postfix"]
GROUP_ORDER = ["local", "smtpd", "uce", "relay", "limits", "queue", "tls", "ldap", "checks"]
HOSTILE = ["a\nb", "x\\", " lead", "#x", "$(id)", "${x}", "y" * 10240]
EDITABLE = POSTFIX.editable()
FIXED = [p for p in POSTFIX.params if p.fixed]
# the header/body checks tables (Kind.RULES) are stored rules, each rendered into its own pcre: file
MAIN_CF = [p for p in POSTFIX.params if not p.name.startswith("ldap_") and p.kind is not Kind.RULES]
MAIN_CF_EDITABLE = [p for p in MAIN_CF if not p.fixed]


@functools.cache
def postconf_defaults() -> dict[str, str]:
    if shutil.which(POSTCONF) is None:
        pytest.skip("Postfix is not installed")
    out = subprocess.run([POSTCONF, "-d"], capture_output=True, text=True, check=True).stdout
    defaults = {}
    for line in out.splitlines():
        name, _, value = line.partition("=")
        defaults[name.strip()] = value.strip()
    return defaults


def ids(params: list[Param]) -> list[str]:
    return [p.name for p in params]


def test_groups_in_the_manuals_order_and_none_empty() -> None:
    assert [g.key for g in POSTFIX.groups] == GROUP_ORDER
    for group in GROUP_ORDER:
        assert [p for p in POSTFIX.in_group(group) if not p.fixed], group


def test_every_main_cf_name_is_a_postfix_parameter() -> None:
    # except the UCE controls' own two names (registry/postfix_uce.py), which main.cf refers to as $name
    known = postconf_defaults()
    console = {UCE_RECIPIENT_CHECKS, UCE_RBL_SITES}
    assert sorted(p.name for p in MAIN_CF if p.name not in known and p.name not in console) == []
    assert not console & set(known)


def test_no_main_cf_parameter_starts_with_ldap() -> None:
    # the table settings are named ldap_<setting>; a real main.cf parameter of that name would be ambiguous
    assert sorted(name for name in postconf_defaults() if name.startswith("ldap_")) == []


def test_at_least_sixty_editable_main_cf_parameters() -> None:
    assert len(MAIN_CF_EDITABLE) >= 60
    # the renderer's own parameters are there too, to be explained
    assert len([p for p in MAIN_CF if p.fixed]) >= 10


@pytest.mark.parametrize("param", POSTFIX.params, ids=ids(list(POSTFIX.params)))
def test_help_says_something(param: Param) -> None:
    assert len(str(param.help)) >= 40
    if not param.fixed:
        assert param.example, "an editable parameter needs an example"
        assert "Example" in str(param.help)
    if param.kind in (Kind.NUMBER, Kind.SIZE, Kind.TIME):
        assert param.unit


@pytest.mark.parametrize("param", EDITABLE, ids=ids(EDITABLE))
def test_example_passes_the_check(param: Param) -> None:
    assert check(param, param.example, allowed_dirs=ALLOWED) == param.example


@pytest.mark.parametrize("param", EDITABLE, ids=ids(EDITABLE))
def test_hostile_values_are_refused(param: Param) -> None:
    for raw in HOSTILE:
        with pytest.raises(v.ConfigValueError):
            check(param, raw, allowed_dirs=ALLOWED)
    assert len(HOSTILE[-1]) > MAX_VALUE


NUMBERS = [p for p in EDITABLE if p.kind in (Kind.NUMBER, Kind.SIZE)]


@pytest.mark.parametrize("param", NUMBERS, ids=ids(NUMBERS))
def test_numbers_out_of_range_are_refused(param: Param) -> None:
    assert param.minimum is not None and param.maximum is not None
    assert param.minimum <= int(param.example) <= param.maximum
    assert check(param, str(param.maximum)) == str(param.maximum)
    too_big = str(param.maximum + 1)
    with pytest.raises(v.ConfigValueError):
        check(param, too_big)
    for raw in (str(param.minimum - 1), "-1", "12k", "1.5"):
        with pytest.raises(v.ConfigValueError):
            check(param, raw)


TIMES = [p for p in EDITABLE if p.kind is Kind.TIME]


@pytest.mark.parametrize("param", TIMES, ids=ids(TIMES))
def test_times_take_postfix_units(param: Param) -> None:
    assert param.time_units == "smhdw"
    for raw in ("30s", "5m", "2h", "1d", "1w", "30"):
        assert check(param, raw) == raw
    for raw in ("30x", "5 m", "1.5h", "-1s"):
        with pytest.raises(v.ConfigValueError):
            check(param, raw)
    if param.minimum:
        with pytest.raises(v.ConfigValueError):
            check(param, "0s")


def test_the_installed_defaults_pass_the_check() -> None:
    """What `postconf -d` shows is a value the menu would accept, unless it is an expression (`${...}`, or
    `$name` where the menu takes no `$`) or unset."""
    defaults = postconf_defaults()
    checked = []
    for param in MAIN_CF_EDITABLE:
        if param.name not in defaults:  # the console's own names: empty by default
            continue
        default = defaults[param.name]
        if "{" in default or ("$" in default and not param.dollar) or (default == "" and not param.empty):
            continue
        assert check(param, default, allowed_dirs=ALLOWED) is not None
        checked.append(param.name)
    assert len(checked) >= 80


@pytest.mark.parametrize("param", FIXED, ids=ids(FIXED))
def test_fixed_parameters_are_refused(param: Param) -> None:
    assert str(param.fixed)
    with pytest.raises(v.ConfigValueError, match="set by the console"):
        check(param, param.example or "x", allowed_dirs=ALLOWED)


def test_the_renderers_mail_flow_is_fixed() -> None:
    for name in (
        "virtual_mailbox_domains",
        "virtual_alias_maps",
        "virtual_mailbox_maps",
        "virtual_transport",
        "content_filter",
        "receive_override_options",
        "smtpd_recipient_restrictions",
        "smtpd_relay_restrictions",
        "smtpd_sender_login_maps",
        "mydestination",
        "myorigin",
        "queue_directory",
    ):
        assert POSTFIX[name].fixed, name
    for name in ("message_size_limit", "myhostname", "relayhost", "mynetworks", "minimal_backoff_time"):
        assert not POSTFIX[name].fixed, name


def test_listening_changes_need_a_restart() -> None:
    assert POSTFIX["inet_interfaces"].restart
    assert POSTFIX["inet_protocols"].restart
    assert not POSTFIX["message_size_limit"].restart


def test_list_and_text_shapes() -> None:
    assert check(POSTFIX["mynetworks"], "127.0.0.0/8 [::1]/128 10.1.2.3") == "127.0.0.0/8 [::1]/128 10.1.2.3"
    for bad in ("127.0.0.0/33", "300.1.1.1", "hash:/etc/postfix/networks", "example.com"):
        with pytest.raises(v.ConfigValueError):
            check(POSTFIX["mynetworks"], bad)
    relayhost = POSTFIX["relayhost"]
    for good in ("[smtp.example.net]:587", "smtp.example.net", "[192.0.2.1]", "relay.example.net:submission"):
        assert check(relayhost, good) == good
    assert check(relayhost, "") == ""
    for bad in ("smtp.example.net:587:1", "[smtp.example.net", "a b", "smtp://example.net"):
        with pytest.raises(v.ConfigValueError):
            check(relayhost, bad)
    banner = POSTFIX["smtpd_banner"]
    assert check(banner, "$myhostname ESMTP $mail_name") == "$myhostname ESMTP $mail_name"
    with pytest.raises(v.ConfigValueError):
        check(banner, "ESMTP ready")  # must start with the host name
    with pytest.raises(v.ConfigValueError):
        check(POSTFIX["smtpd_client_restrictions"], "permit_mynetworks, check_client_access hash:/etc/x")
    assert check(POSTFIX["smtpd_tls_protocols"], ">=TLSv1.2") == ">=TLSv1.2"
    assert check(POSTFIX["smtpd_tls_protocols"], "!SSLv2, !SSLv3") == "!SSLv2, !SSLv3"


def test_tables_and_paths_stay_in_the_allowed_directories() -> None:
    with pytest.raises(v.ConfigValueError):
        check(POSTFIX["transport_maps"], "hash:/tmp/transport", allowed_dirs=ALLOWED)
    with pytest.raises(v.ConfigValueError):
        check(POSTFIX["smtp_sasl_password_maps"], "ldap:/etc/postfix/passwords.cf", allowed_dirs=ALLOWED)
    with pytest.raises(v.ConfigValueError):
        check(POSTFIX["smtpd_tls_key_file"], "/etc/ssl/../shadow", allowed_dirs=ALLOWED)
    with pytest.raises(v.ConfigValueError):
        check(POSTFIX["smtpd_tls_cert_file"], "/root/cert.pem", allowed_dirs=ALLOWED)


def test_ldap_server_host_is_what_the_table_renderer_accepts() -> None:
    host = POSTFIX["ldap_server_host"]
    for good in ("ldap://ldap.example.com", "ldaps://ldap.example.com:636", "ldapi://%2Frun%2Fslapd.sock"):
        assert check(host, good) == good
        assert v.ldap_uri("server_host", good) == good
    for bad in ("ldap.example.com", "http://ldap.example.com", "ldap://a ldap://b"):
        assert not LDAP_URI.fullmatch(bad)
        with pytest.raises(v.ConfigValueError):
            check(host, bad)


def test_the_bind_password_never_appears_in_an_error() -> None:
    pw = POSTFIX["ldap_bind_pw"]
    assert pw.secret
    with pytest.raises(v.ConfigValueError) as refused:
        check(pw, "Sup3r secret")
    assert "Sup3r" not in str(refused.value)


def test_ldap_settings_are_what_the_table_renderer_takes() -> None:
    """Each editable ldap_<setting> is a PostfixMaps field or one of the table settings the renderer lets the
    menu change, and the examples all together render into a table file."""
    fields = {"server_host", "search_base", "bind_dn", "bind_pw"}
    editable = {p.name.removeprefix("ldap_"): p for p in POSTFIX.in_group("ldap") if not p.fixed}
    assert fields <= set(editable) <= fields | MENU_SETTINGS
    assert all(f"ldap_{setting}" in POSTFIX for setting in MENU_SETTINGS)  # each is explained at least
    settings = {k: p.example for k, p in editable.items() if k not in fields}
    table = LdapTable(
        name="domains",
        server_uri=editable["server_host"].example,
        bind_dn=editable["bind_dn"].example,
        bind_pw=editable["bind_pw"].example,
        search_base=f"ou=domains,{editable['search_base'].example}",
        query_filter=contract.DOMAINS_TABLE.query_filter,
        result_attribute=contract.DOMAINS_TABLE.result_attribute,
        settings=settings,
    )
    text = render_ldap_table(table)
    for key, value in settings.items():
        assert f"\n{key} = {value}\n" in text


def test_every_contract_table_has_its_fixed_query_and_attribute() -> None:
    for spec in contract.TABLES:
        key = spec.name.replace("-", "_")
        query = POSTFIX[f"ldap_{key}_query_filter"]
        attribute = POSTFIX[f"ldap_{key}_result_attribute"]
        for param in (query, attribute):
            assert param.group == "ldap"
            assert str(param.fixed) == "part of the directory contract"
            assert spec.name in str(param.help)
        assert query.example == spec.query_filter
        assert attribute.example == spec.result_attribute
    per_table = [
        p for p in POSTFIX.in_group("ldap") if p.name.endswith(("_query_filter", "_result_attribute"))
    ]
    assert len(per_table) == 2 * len(contract.TABLES)
