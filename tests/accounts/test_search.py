"""Search accounts (ACC-09): scope, paging and sorting by slapd, hostile input; bulk actions as real jobs.

Bulk effects are proved by the daemons: an IMAP login that stops working after "Disable", the Cyrus quota
after "Set quota", an LDAP bind after "Delete", and a byte-identical `ldapsearch` dump of what a tampered
request tried to reach.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.jobs import BULK
from accounts.services.containers import group_create
from accounts.services.users import user_create
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.directory import dit
from mailadmin.jobs.models import Job
from tests import ldaptool
from tests.conftest import Persona, Personas
from tests.jobtool import job_of

Login = Callable[[Persona], Client]
SYSTEM = Actor.system("tests")
PASSWORD = "Search-pass-123"
HOSTILE = [
    "*)(uid=*",
    "x,ou=admins",
    "a+uid=root",
    "#x",
    "x ",
    "y" * 300,
    '"><img src=x onerror=alert(1)>',
    "*",
    "\\2a",
]


def counting(calls: list[str], name: str, real: Callable[..., object]) -> Callable[..., object]:
    """A spy: the real gateway function, with each call noted (the directory still answers)."""

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(name)
        return real(*args, **kwargs)

    return spy


def search_url(**params: str) -> str:
    return "/accounts/search/?" + urlencode(params)


def rows(page: str) -> list[str]:
    """The DNs of the result rows, in order."""
    return re.findall(r'name="dn" value="([^"]+)"', page)


def add_person(container: str, uid: str, cn: str, **extra: object) -> str:
    """A bare account entry, fast (no password, no mailbox): enough for what search reads."""
    dn = dit.account_dn(container, uid)
    attrs: dict[str, object] = {
        "objectClass": ["inetOrgPerson", "mailAccount"],
        "uid": uid,
        "cn": cn,
        "sn": cn.split()[-1],
        "mail": f"{uid}@{dit.domain_of(container)}",
        "mailEnabled": True,
        **extra,
    }
    directory.add(dn, attrs)  # type: ignore[arg-type]
    return dn


def make_user(container: str, uid: str, quota: int | None = None) -> str:
    return user_create(
        actor=SYSTEM,
        container_dn=container,
        uid=uid,
        password=PASSWORD,
        last_name=uid.title(),
        create_mailbox=True,
        quota_kib=quota,
    )


def log_of(job: Job) -> str:
    return "\n".join(line.text for line in job.lines.all())


# --- the search page ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_domain_admin_finds_only_inside_own_domain(personas: Personas, login: Login) -> None:
    prefix = f"sx{uuid.uuid4().hex[:6]}"
    org_a, org_b = dit.organization_dn("a.test", "a.test"), dit.organization_dn("b.test", "b.test")
    mine = [add_person(org_a, f"{prefix}{i}", f"Search {prefix} {i}") for i in range(3)]
    theirs = add_person(org_b, f"{prefix}9", f"Search {prefix} 9")
    try:
        client = login(personas.domain_admin_a)
        page = client.get(search_url(text=prefix, base=dit.domain_dn("a.test"))).content.decode()
        assert sorted(rows(page)) == sorted(mine) and theirs not in page
        assert "3 entries found" in page
        # The base decides what slapd returns; another domain, the whole tree or ou=admins is a 404.
        for base in (dit.domain_dn("b.test"), dit.domains_dn(), dit.base_dn(), dit.admins_dn(), "x,,"):
            assert client.get(search_url(text=prefix, base=base)).status_code == 404, base
        # The group administrator searches inside the group only.
        gary = login(personas.group_admin).get(search_url(text="", base=personas.group_dn)).content.decode()
        assert personas.user.dn in rows(gary) and not set(mine) & set(rows(gary))
        assert login(personas.group_admin).get(search_url(base=dit.domain_dn("a.test"))).status_code == 404
        assert login(personas.user).get("/accounts/search/").status_code == 404
    finally:
        for dn in [*mine, theirs]:
            directory.delete(dn)


@pytest.mark.django_db
def test_pages_and_sorting_come_from_the_server(personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    made = [
        add_person(org, f"p{i:03d}", f"Person {119 - i:03d}", mailQuota=2048 * (i % 2)) for i in range(120)
    ]
    client = login(personas.admin)
    base = dit.domain_dn(domain)
    by_name = sorted(made, key=lambda dn: directory.get_entry(dn, ["cn"]).first("cn"))  # type: ignore[union-attr]
    page1 = client.get(search_url(base=base, sort="cn")).content.decode()
    assert "120 entries found" in page1 and "Page 1 of 3" in page1
    assert rows(page1) == by_name[:50]
    page3 = client.get(search_url(base=base, sort="cn", page="3")).content.decode()
    assert rows(page3) == by_name[100:] and "Page 3 of 3" in page3
    by_uid_desc = sorted(made, reverse=True)
    page2 = client.get(search_url(base=base, sort="-uid", page="2")).content.decode()
    assert rows(page2) == by_uid_desc[50:100]
    assert rows(client.get(search_url(base=base, page="99")).content.decode()) == []
    # By attribute: a number compared whole, a prefix, presence.
    quota = client.get(
        search_url(base=base, mode="attribute", attribute="mailQuota", match="equals", text="2048")
    )
    assert "60 entries found" in quota.content.decode()
    prefix = client.get(search_url(base=base, mode="attribute", attribute="uid", match="starts", text="p11"))
    assert sorted(rows(prefix.content.decode())) == sorted(made[110:120])
    present = client.get(search_url(base=base, mode="attribute", attribute="mailAlias", match="present"))
    assert "0 entries found" in present.content.decode()
    contains = client.get(search_url(base=base, text="son 00", match="contains"))
    assert len(rows(contains.content.decode())) == 10
    # htmx asks for the results only.
    partial = client.get(search_url(base=base), HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="results">') and "<html" not in partial


@pytest.mark.django_db
def test_a_page_costs_one_ldap_window_and_the_same_queries_whatever_it_shows(
    personas: Personas, login: Login, domain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = dit.organization_dn(domain, domain)
    for i in range(60):
        add_person(org, f"q{i:03d}", f"Query {i:03d}")
    client = login(personas.admin)
    base = dit.domain_dn(domain)
    calls: list[str] = []
    for name in ("search_window", "search", "get_entry", "iter_paged", "count"):
        monkeypatch.setattr(directory, name, counting(calls, name, getattr(directory, name)))
    with CaptureQueriesContext(connection) as one:
        assert len(rows(client.get(search_url(base=base, text="q000")).content.decode())) == 1
    with CaptureQueriesContext(connection) as fifty:
        assert len(rows(client.get(search_url(base=base)).content.decode())) == 50
    # No lookup per row (no N+1 against slapd or the database): one VLV window per page, nothing else.
    assert calls == ["search_window", "search_window"]
    assert len(one.captured_queries) == len(fifty.captured_queries)


@pytest.mark.django_db
def test_hostile_search_input_is_escaped_or_refused(personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    add_person(org, "victim", '"><img src=x onerror=alert(1)>')
    client = login(personas.admin)
    base = dit.domain_dn(domain)
    before = ldaptool.dump(base)
    for value in HOSTILE:
        for params in (
            {"text": value, "match": "contains"},
            {"mode": "attribute", "attribute": "cn", "match": "equals", "text": value},
        ):
            response = client.get(search_url(base=base, **params))
            assert response.status_code == 200, value
            page = response.content.decode()
            assert "<img src=x" not in page
            if value not in ('"><img src=x onerror=alert(1)>',):
                # A filter special never widens the match: nothing (or an error), never every entry.
                assert rows(page) == [] or value == "x ", (value, rows(page))
    for value in ("x\x00y", "x\r\ny"):
        page = client.get(search_url(base=base, text=value)).content.decode()
        assert 'class="error"' in page and rows(page) == []
    shown = client.get(search_url(base=base, text='"><img')).content.decode()
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in shown
    for bad in (
        {"attribute": "userPassword"},
        {"sort": "userPassword"},
        {"match": "approx"},
        {"kind": "admin"},
    ):
        page = client.get(search_url(base=base, mode="attribute", text="x", **bad)).content.decode()
        assert 'class="error"' in page and rows(page) == [], bad
    flag = client.get(
        search_url(base=base, mode="attribute", attribute="mailEnabled", match="contains", text="T")
    )
    assert "only be compared whole" in flag.content.decode()
    assert ldaptool.dump(base) == before


# --- bulk actions ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_bulk_disable_enable_quota_and_web_access_as_jobs(
    worker: None, personas: Personas, login: Login, domain: str
) -> None:
    org = dit.organization_dn(domain, domain)
    uids = [f"bk{uuid.uuid4().hex[:6]}{i}" for i in range(3)]
    dns = [make_user(org, uid) for uid in uids]
    client = login(personas.admin)
    query = {"base": dit.domain_dn(domain), "text": "", "mode": "simple", "match": "starts", "kind": "all"}

    response = client.post(
        "/accounts/search/bulk/", {**query, "action": "disable", "apply_to": "selected", "dn": dns[:2]}
    )
    job = job_of(response)
    assert job.state == Job.State.SUCCEEDED, (job.error, log_of(job))
    assert job.result is not None and job.result["counts"]["changed"] == 2 and job.percent == 100
    assert not imap.login_check(uids[0], PASSWORD) and not imap.login_check(uids[1], PASSWORD)
    assert imap.login_check(uids[2], PASSWORD)
    job = job_of(client.post("/accounts/search/bulk/", {**query, "action": "enable", "apply_to": "all"}))
    assert job.state == Job.State.SUCCEEDED and job.total == 3
    assert all(imap.login_check(uid, PASSWORD) for uid in uids)

    data = {**query, "action": "set_quota", "quota_kib": "4096", "apply_to": "all"}
    job = job_of(client.post("/accounts/search/bulk/", data))
    assert job.state == Job.State.SUCCEEDED
    assert [imap.quota_get(uid).limit_kib for uid in uids] == [4096, 4096, 4096]  # type: ignore[union-attr]

    job = job_of(
        client.post(
            "/accounts/search/bulk/", {**query, "action": "web_off", "apply_to": "selected", "dn": dns[0]}
        )
    )
    assert job.state == Job.State.SUCCEEDED
    assert ldaptool.attribute(dns[0], "mailWebAccess") == ["FALSE"]
    assert ldaptool.attribute(dns[1], "mailWebAccess") != ["FALSE"]
    # The job page shows the bar; a finished job stops polling.
    page = client.get(f"/tools/jobs/{job.pk}/").content.decode()
    assert 'id="job-bar"' in page and 'value="100"' in page


@pytest.mark.django_db(transaction=True)
def test_bulk_delete_asks_first_and_keeps_mailboxes_unless_told(
    worker: None, personas: Personas, login: Login, domain: str
) -> None:
    org = dit.organization_dn(domain, domain)
    uids = [f"del{uuid.uuid4().hex[:6]}{i}" for i in range(2)]
    dns = [make_user(org, uid) for uid in uids]
    client = login(personas.admin)
    query = {"base": dit.domain_dn(domain), "text": "", "apply_to": "selected", "action": "delete"}

    jobs = Job.objects.filter(kind=BULK).count()
    confirm = client.post("/accounts/search/bulk/", {**query, "dn": dns[0]})
    assert confirm.status_code == 200 and "Their mailboxes are kept" in confirm.content.decode()
    assert directory.exists(dns[0]) and Job.objects.filter(kind=BULK).count() == jobs
    job = job_of(client.post("/accounts/search/bulk/", {**query, "dn": dns[0], "confirm": "yes"}))
    assert job.state == Job.State.SUCCEEDED, log_of(job)
    assert not ldaptool.bind_ok(dns[0], PASSWORD) and imap.mailbox_exists(uids[0])

    data = {**query, "dn": dns[1], "delete_mailboxes": "on"}
    confirm = client.post("/accounts/search/bulk/", data)
    assert "all mail in them is lost" in confirm.content.decode()
    assert imap.mailbox_exists(uids[1])
    job = job_of(client.post("/accounts/search/bulk/", {**data, "confirm": "yes"}))
    assert job.state == Job.State.SUCCEEDED, log_of(job)
    assert not directory.exists(dns[1]) and not imap.mailbox_exists(uids[1])
    imap.mailbox_delete(uids[0])


@pytest.mark.django_db(transaction=True)
def test_a_tampered_dn_list_changes_nothing_outside_the_domain(
    worker: None, personas: Personas, login: Login, unique: Callable[[str], str]
) -> None:
    org_a, org_b = dit.organization_dn("a.test", "a.test"), dit.organization_dn("b.test", "b.test")
    own = make_user(org_a, unique("own"))
    foreign = make_user(org_b, unique("far"))
    dana = personas.domain_admin_a
    outside = [foreign, personas.admin.dn, dit.administrators_group_dn(), personas.domain_admin_b.dn]
    before = {dn: ldaptool.dump(dn, scope="base") for dn in outside}
    client = login(dana)
    data = {
        "base": dit.domain_dn("a.test"),
        "text": "",
        "action": "disable",
        "apply_to": "selected",
        "dn": [own, *outside, dana.dn],
    }
    job = job_of(client.post("/accounts/search/bulk/", data))
    log = log_of(job)
    assert job.state == Job.State.FAILED and "1 of 6 changed; 4 refused" in job.error, (job.error, log)
    assert all(f"REFUSED {dn}" in log for dn in outside)
    assert f"SKIPPED {dana.dn}" in log  # never oneself in bulk
    assert {dn: ldaptool.dump(dn, scope="base") for dn in outside} == before
    assert ldaptool.attribute(own, "mailEnabled") == ["FALSE"]
    assert ldaptool.attribute(dana.dn, "mailEnabled") == ["TRUE"]
    # The job's domains are only the ones she may see: dana-b does not get to read this log.
    assert login(personas.domain_admin_b).get(f"/tools/jobs/{job.pk}/").status_code == 404
    # "All matching" with a base of another domain never becomes a job.
    count = Job.objects.count()
    data = {"base": dit.domain_dn("b.test"), "text": "", "action": "disable", "apply_to": "all"}
    assert client.post("/accounts/search/bulk/", data).status_code == 404
    assert Job.objects.count() == count
    assert {dn: ldaptool.dump(dn, scope="base") for dn in outside} == before


@pytest.mark.django_db(transaction=True)
def test_bulk_refuses_a_higher_rank_inside_the_domain(
    worker: None, personas: Personas, login: Login, domain: str, unique: Callable[[str], str]
) -> None:
    from accounts.services import roles

    org = dit.organization_dn(domain, domain)
    dana = user_create(
        actor=SYSTEM,
        container_dn=org,
        uid=unique("dana"),
        password=PASSWORD,
        last_name="D",
        create_mailbox=False,
    )
    peer = make_user(org, unique("peer"))
    for dn in (dana, peer):
        roles.domain_admin_add(actor=SYSTEM, domain=domain, account_dn=dn)
    client = login(Persona("dana", dit.rdn_value(dana), dana, PASSWORD))
    before = ldaptool.dump(peer, scope="base")
    data = {
        "base": dit.domain_dn(domain),
        "text": "",
        "action": "set_quota",
        "quota_kib": "1",
        "apply_to": "all",
    }
    job = job_of(client.post("/accounts/search/bulk/", data))
    assert job.state == Job.State.FAILED and f"REFUSED {peer}" in log_of(job)
    assert ldaptool.dump(peer, scope="base") == before


@pytest.mark.django_db(transaction=True)
def test_bulk_move_into_a_group(worker: None, personas: Personas, login: Login, domain: str) -> None:
    org = dit.organization_dn(domain, domain)
    group = group_create(actor=SYSTEM, parent_dn=org, name="movers")
    uid = f"mv{uuid.uuid4().hex[:6]}"
    dn = make_user(org, uid)
    client = login(personas.admin)
    data = {"base": dit.domain_dn(domain), "text": uid, "action": "move", "target": group, "apply_to": "all"}
    job = job_of(client.post("/accounts/search/bulk/", data))
    assert job.state == Job.State.SUCCEEDED, (job.error, log_of(job))
    assert not directory.exists(dn) and directory.exists(dit.account_dn(group, uid))
    assert imap.login_check(uid, PASSWORD)  # same login, same mailbox
    bad = client.post("/accounts/search/bulk/", {**data, "target": ""}, follow=True)
    assert "Choose the organization or group to move to" in bad.content.decode()


@pytest.mark.django_db
def test_bulk_form_refusals(personas: Personas, login: Login, domain: str) -> None:
    client = login(personas.admin)
    base = dit.domain_dn(domain)
    count = Job.objects.count()
    for data in (
        {"base": base, "action": "disable", "apply_to": "selected"},
        {"base": base, "action": "set_quota", "quota_kib": "-1", "apply_to": "all"},
        {"base": base, "action": "explode", "apply_to": "all"},
        {"base": base, "action": "disable", "apply_to": "selected", "dn": ["x"] * 501},
    ):
        response = client.post("/accounts/search/bulk/", data, follow=True)
        assert response.status_code == 200 and 'class="msg error"' in response.content.decode(), data
    assert (
        login(personas.user).post("/accounts/search/bulk/", {"base": base, "action": "disable"}).status_code
        == 404
    )
    assert Job.objects.count() == count
