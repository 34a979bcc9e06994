"""DN comparisons agree with slapd's matching: the console never calls two entries one that slapd keeps apart.

slapd compares our naming attributes with caseIgnoreMatch using its own (old) Unicode tables; Python's
`casefold()` merges more (ß and ss, ς and σ, Georgian and Cherokee case pairs). Each pair below is made as
two sibling entries: when slapd accepts both, they are different entries, and `same_dn`/`is_inside` must say
so. Decision 0010.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import ldap
import pytest
from django.conf import settings
from django.test import Client

from accounts import services
from mailadmin import directory
from mailadmin.actor import Actor
from mailadmin.directory import dit
from tests import ldaptool
from tests.conftest import Persona

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")

# (a, b): names Python's casefold() or NFKC call equal. Which ones slapd merges is what the test asks it.
PAIRS = [
    ("Straße", "STRASSE"),  # ß/ss: casefold merges, slapd does not
    ("Straße", "Strasse"),
    ("ẞtadt", "ßtadt"),  # capital sharp s (Unicode 5.1) and ß
    ("Σοφία", "σοφίας"),
    ("ὀδός", "ὀδόσ"),  # final sigma ς and σ
    ("Ⴀpfel", "ⴀpfel"),  # Georgian Asomtavruli / Nuskhuri case pair (Unicode 6.1 case mapping)
    ("Აpfel", "აpfel"),  # Georgian Mtavruli (Unicode 11) and Mkhedruli
    ("Ꭰpfel", "ꭰpfel"),  # Cherokee (casefold maps small to capital)
    ("ﬁles", "files"),  # ligature fi: compatibility decomposition
    ("Ⅻteam", "ⅻteam"),  # roman numeral twelve, capital and small
    ("🄰team", "Ateam"),  # squared Latin A (Unicode 6.0), NFKC → A
    ("Ｆull", "Full"),  # fullwidth F
    ("Kelvin", "\u212aelvin"),  # Kelvin sign
    ("İnci", "inci"),  # dotted capital I
    ("Äpfel", "äpfel"),  # Latin-1 case pair: slapd merges, the console says "different" (the safe side)
    ("Sales", "SALES"),  # ASCII case: both merge
    ("two  spaces", "two spaces"),  # runs of spaces: both merge
]


def _slapd_merges(parent: str, a: str, b: str) -> bool:
    """Add `ou=a` and `ou=b` under `parent`: slapd refuses the second when it takes them for one name."""
    directory.add(f"ou={dit.escape_dn(a)},{parent}", {"objectClass": ["organizationalUnit"], "ou": a})
    try:
        directory.add(f"ou={dit.escape_dn(b)},{parent}", {"objectClass": ["organizationalUnit"], "ou": b})
    except directory.DirectoryConflict:
        return True
    return False


@pytest.fixture
def parent(stack: object) -> str:
    dn = f"ou=dn{uuid.uuid4().hex[:10]},{dit.base_dn()}"
    directory.add(dn, {"objectClass": ["organizationalUnit"], "ou": dit.rdn_value(dn)})
    return dn


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_same_dn_never_merges_what_slapd_keeps_apart(parent: str, a: str, b: str) -> None:
    merged = _slapd_merges(parent, a, b)
    dn_a, dn_b = f"ou={dit.escape_dn(a)},{parent}", f"ou={dit.escape_dn(b)},{parent}"
    if dit.same_dn(dn_a, dn_b):
        assert merged, f"the console calls {a!r} and {b!r} one name; slapd keeps two entries"
    if not merged:
        assert not dit.is_inside(f"uid=x,{dn_b}", dn_a)
        assert not dit.is_inside(f"uid=x,{dn_a}", dn_b)
        assert dit.normalize_dn(dn_a) != dit.normalize_dn(dn_b)


def test_ascii_case_and_spaces_still_match(parent: str) -> None:
    assert _slapd_merges(parent, "Sales", "sALES")
    assert dit.same_dn(f"OU=Sales,{parent}", f"ou=sALES,{parent.upper()}")
    assert dit.is_inside(f"uid=x,ou=a  b,{parent}", f"ou=A B,{parent}")


def test_the_server_spelling_always_matches_itself(parent: str) -> None:
    """What the console compares in practice: DNs slapd returned, in the spelling it stores."""
    for name in ("Straße", "Äpfel", "Ⴀpfel", "ﬁles"):
        directory.add(
            f"ou={dit.escape_dn(name)},{parent}", {"objectClass": ["organizationalUnit"], "ou": name}
        )
    found = directory.search(parent, "(objectClass=organizationalUnit)", ["ou"], scope="one")
    assert len(found) == 4
    for entry in found:
        again = directory.get_entry(entry.dn, ["ou"])
        assert again is not None and dit.same_dn(entry.dn, again.dn)
        assert dit.is_inside(f"uid=x,{entry.dn}", again.dn)


def test_compare_sweep_ascii_case_agrees_with_slapd(parent: str) -> None:
    """Every value the console's key merges with another, slapd's caseIgnoreMatch merges too (all ASCII
    letters and their case variants, asked of the server with Compare)."""
    conn = ldap.initialize(settings.LDAP_URI)
    conn.simple_bind_s(settings.LDAP_ADMIN_DN, settings.LDAP_ADMIN_PASSWORD)
    try:
        for value, other in [("Straße", "STRASSE"), ("Äpfel", "äPFEL"), ("ﬁ", "FI")] + [
            (chr(c) * 3, chr(c).swapcase() * 3) for c in range(0x41, 0x5B)
        ]:
            conn.modify_s(parent, [(ldap.MOD_REPLACE, "description", [value.encode()])])
            slapd_same = bool(conn.compare_s(parent, "description", other.encode()))
            ours = dit.same_dn(f"ou={dit.escape_dn(value)}", f"ou={dit.escape_dn(other)}")
            assert not ours or slapd_same, (value, other)
    finally:
        conn.unbind_s()


def test_group_admin_of_strasse_cannot_reach_the_sibling_group(
    domain: str, unique: Callable[[str], str], login: Callable[[Persona], Client]
) -> None:
    """Groups `Straße` and `Strasse` are two entries for slapd; casefold() took one for the other, so the
    administrator of the first could change the users of the second."""
    org = dit.organization_dn(domain, domain)
    services.group_create(actor=ACTOR, parent_dn=org, name="Straße")
    services.group_create(actor=ACTOR, parent_dn=org, name="STRASSE")
    mine, theirs = dit.group_dn(org, "Straße"), dit.group_dn(org, "STRASSE")
    admin_uid, victim_uid = unique("ga"), unique("vi")
    services.user_create(
        actor=ACTOR,
        container_dn=mine,
        uid=admin_uid,
        password="Strasse-pass-1",
        last_name="A",
        create_mailbox=False,
    )
    services.group_admin_add(actor=ACTOR, group_dn=mine, account_dn=dit.account_dn(mine, admin_uid))
    services.user_create(
        actor=ACTOR,
        container_dn=theirs,
        uid=victim_uid,
        password="Strasse-pass-1",
        last_name="V",
        create_mailbox=False,
    )
    victim = dit.account_dn(theirs, victim_uid)
    client = login(Persona(admin_uid, admin_uid, dit.account_dn(mine, admin_uid), "Strasse-pass-1"))
    before = ldaptool.dump(theirs)
    query = "?" + urlencode({"dn": victim})
    assert client.get("/accounts/users/" + query).status_code == 404
    assert client.post("/accounts/users/disable/" + query).status_code == 404
    assert client.post("/accounts/users/delete/" + query, {"confirm": "on"}).status_code == 404
    assert ldaptool.dump(theirs) == before
