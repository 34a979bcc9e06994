"""What the server is and can do: for the dashboard's service list and "Check the mail system"."""

from __future__ import annotations

from django.conf import settings

from mailadmin.directory.search import get_entry, search

SORT_CONTROL = "1.2.840.113556.1.4.473"  # RFC 2891 server-side sort (sssvlv)
VLV_CONTROL = "2.16.840.1.113730.3.4.9"
PAGED_CONTROL = "1.2.840.113556.1.4.319"  # RFC 2696
PASSWD_EXOP = "1.3.6.1.4.1.4203.1.11.1"  # noqa: S105 - an OID: RFC 3062 Password Modify


def server_info() -> dict[str, str]:
    """{"version": ..., "detail": ...} from the root DSE; raises DirectoryUnavailable if slapd is down."""
    root = get_entry("", ["objectClass", "namingContexts", "supportedControl", "supportedExtension"])
    if root is None:
        return {"version": "", "detail": "no root DSE"}
    controls = set(root.values("supportedControl"))
    version = "OpenLDAP" if root.has_object_class("OpenLDAProotDSE") else "LDAP"
    features = [
        ("paged results", PAGED_CONTROL in controls),
        ("server-side sort", SORT_CONTROL in controls),
        ("virtual list view", VLV_CONTROL in controls),
        ("password modify", PASSWD_EXOP in root.values("supportedExtension")),
    ]
    detail = "; ".join(
        [f"base {settings.LDAP_BASE_DN}", "naming contexts " + ", ".join(root.values("namingContexts"))]
        + [f"{name}: {'yes' if ok else 'no'}" for name, ok in features]
    )
    return {"version": version, "detail": detail}


def schema_loaded() -> bool:
    """The mailadmin schema (objectClass mailAccount) is known to the server."""
    found = search("cn=Subschema", "(objectClass=subschema)", ["objectClasses"], scope="base")
    return bool(found) and any("'mailAccount'" in oc for oc in found[0].values("objectClasses"))
