"""The imapd.conf lines that make Cyrus resolve groups from LDAP (docs/decisions/0007), and that no value can
smuggle in another setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from mailadmin.configfiles.cyrus import (
    CyrusParams,
    PtsLdap,
    admin_entry_ldif,
    render_cyrus_conf,
    render_imapd_conf,
)
from mailadmin.configfiles.values import ConfigValueError
from mailadmin.cyrus import conf_lint


def params(**pts: str) -> CyrusParams:
    base = {
        "uri": "ldap://127.0.0.1:10389",
        "bind_dn": "cn=saslauthd,ou=services,dc=example",
        "bind_pw": "secret",
        "base_dn": "ou=domains,dc=example",
        "suffix": "dc=example",
    }
    base.update(pts)
    return CyrusParams(
        imapd_conf=Path("/c/etc/imapd.conf"),
        config_dir=Path("/c/lib"),
        partition_dir=Path("/c/spool"),
        run_dir=Path("/c/run"),
        servername="imap.example",
        saslauthd_mux=Path("/s/mux"),
        sasldb=Path("/c/sasldb2"),
        imap_port=10143,
        lmtp_port=10024,
        pts=PtsLdap(**base),  # type: ignore[arg-type]
    )


def test_groups_are_containers_above_the_account() -> None:
    conf = render_imapd_conf(params())
    assert "auth_mech: pts\n" in conf and "pts_module: ldap\n" in conf
    assert "ldap_member_method: filter\n" in conf
    assert "(entryDN:dnSuperiorMatch:=%D)" in conf
    assert "ldap_member_attribute: entryUUID\n" in conf
    assert "(entryUUID=%u))\n" in conf  # ldap_group_filter: Cyrus refuses unknown groups
    assert "ptloader" in render_cyrus_conf(params())
    assert "uid: cyrus\n" in admin_entry_ldif("cyrus", "dc=example")


@pytest.mark.parametrize(
    "field,value",
    [
        ("bind_pw", "pw\nadmins: evil"),
        ("bind_dn", "cn=x\nadmins: evil"),
        ("uri", "ldap://h\nadmins: evil"),
        ("uri", "http://h"),
        ("base_dn", "ou=domains,dc=example)(x"),
        ("suffix", "dc=example\n"),
    ],
)
def test_values_cannot_add_settings(field: str, value: str) -> None:
    with pytest.raises(ConfigValueError):
        render_imapd_conf(params(**{field: value}))


def test_the_running_cyrus_knows_every_key(stack: object) -> None:
    conf = Path(settings.CYRUS_CONF)
    assert "auth_mech: pts" in conf.read_text()
    assert conf_lint(conf) == []
