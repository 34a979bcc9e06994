"""saslauthd's LDAP configuration (`saslauthd -a ldap -O FILE`) and the SASL application file that points
Postfix smtpd at saslauthd (`smtpd.conf` in cyrus_sasl_config_path)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailadmin.configfiles import values as v
from mailadmin.configfiles.files import with_header

SOURCE = "mailadmin/configfiles/saslauthd.py"
# Enabled accounts only: a disabled account (mailEnabled FALSE) must not log in over IMAP or SMTP AUTH.
DEFAULT_FILTER = "(&(uid=%u)(objectClass=mailAccount)(!(mailEnabled=FALSE)))"


@dataclass(frozen=True)
class SaslauthdParams:
    server_uri: str
    bind_dn: str
    bind_pw: str
    search_base: str
    search_filter: str = DEFAULT_FILTER
    timeout: int = 5


def render_saslauthd_conf(p: SaslauthdParams) -> str:
    """Bind as the service account to find the user, then bind as the user to check the password (so
    ppolicy lockout applies). Holds a password: write it 0600 (saslauthd runs as root)."""
    uri = v.text("server_uri", p.server_uri, forbid=" ")
    if not uri.startswith(("ldap://", "ldaps://", "ldapi://")):
        raise v.ConfigValueError("server_uri", "must be an ldap://, ldaps:// or ldapi:// URI", p.server_uri)
    search_filter = v.text("search_filter", p.search_filter)
    if not search_filter.startswith("(") or not search_filter.endswith(")"):
        raise v.ConfigValueError("search_filter", "must be a parenthesised LDAP filter", p.search_filter)
    lines = [
        ("ldap_servers", uri),
        ("ldap_version", "3"),
        ("ldap_bind_dn", v.dn("bind_dn", p.bind_dn)),
        ("ldap_bind_pw", v.secret("bind_pw", p.bind_pw)),
        ("ldap_search_base", v.dn("search_base", p.search_base)),
        ("ldap_scope", "sub"),
        ("ldap_filter", search_filter),
        ("ldap_auth_method", "bind"),
        ("ldap_timeout", str(v.integer("timeout", p.timeout, minimum=1, maximum=300))),
    ]
    return with_header("".join(f"{key}: {value}\n" for key, value in lines), source=SOURCE)


def render_sasl_app_conf(mux: Path, *, mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")) -> str:
    """The SASL config of one application (smtpd.conf): check passwords through saslauthd's socket."""
    lines = [
        ("pwcheck_method", "saslauthd"),
        ("saslauthd_path", v.path("mux", mux)),
        ("mech_list", " ".join(v.words("mechanisms", mechanisms))),
    ]
    return with_header("".join(f"{key}: {value}\n" for key, value in lines), source=SOURCE)
