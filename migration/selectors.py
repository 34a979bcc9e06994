"""Reads of the migration app (selectors).

- The import pages and the pipeline: which runs a person may see, the report's rows, the containers a person
  may import into, and what the directory and Cyrus already hold. Who sees a run: administrators every run;
  everyone else their own runs and the runs whose container lies inside one of their domains (domain
  administrators) or groups (group administrators), the rule of mailadmin/jobs/selectors.py. Anyone else
  gets None, and the view a 404.
- For other menus: the CSV export of accounts, which the account search and the account browser offer as
  "Export CSV". The export's one write is its audit row.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from accounts.selectors import mail_container_get
from mailadmin import directory, imap
from mailadmin.actor import Actor
from mailadmin.directory import DirectorySizeLimit, dit, filter_eq, filter_or
from mailadmin.permissions import Kind, Verb, can
from migration.csv_export import export_accounts
from migration.models import ImportRow, ImportRun

__all__ = [
    "CONTAINER_CHOICES",
    "existing_mailboxes",
    "export_accounts",
    "import_containers",
    "may_import_into",
    "may_see_run",
    "report_rows",
    "run_for",
    "taken_names",
    "visible_runs",
]

CONTAINER_CHOICES = 500  # more containers than this: the form asks for a DN instead of offering a list
MAILBOX_CONTAINER_FILTER = "(objectClass=mailContainer)"
LOOKUP_BATCH = 100  # names asked of slapd in one search


def _owner(actor: Actor, run: ImportRun) -> bool:
    return bool(actor.dn) and bool(run.created_by_dn) and dit.same_dn(run.created_by_dn, actor.dn)


def may_see_run(actor: Actor, run: ImportRun) -> bool:
    if actor.roles.administrator or _owner(actor, run):
        return True
    bases = actor.roles.domains | actor.roles.groups
    return bool(run.scope) and any(dit.is_inside(run.scope, base) for base in bases)


def run_for(actor: Actor, run_id: UUID | str) -> ImportRun | None:
    try:
        run = ImportRun.objects.select_related("check_job", "create_job").get(pk=run_id)
    except (ImportRun.DoesNotExist, ValueError):
        return None
    return run if may_see_run(actor, run) else None


def visible_runs(actor: Actor) -> QuerySet[ImportRun]:
    """The runs the actor may see, newest first (the database narrows, `may_see_run` is the rule)."""
    runs = ImportRun.objects.all()
    if actor.roles.administrator:
        return runs
    candidates = Q(created_by_dn=actor.dn) if actor.dn else Q(pk__in=[])
    for dn in actor.roles.domains | actor.roles.groups:
        if name := dit.domain_name(dn):
            candidates |= Q(domains__contains=f",{name},")
    allowed = [run.pk for run in runs.filter(candidates)[:1000] if may_see_run(actor, run)]
    return runs.filter(pk__in=allowed)


def report_rows(run: ImportRun) -> QuerySet[ImportRow]:
    """The report's rows: refused and failed entries first, then the others, each in file order."""
    problem = Case(
        When(verdict__in=[ImportRow.Verdict.REFUSED, ImportRow.Verdict.FAILED], then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return run.rows.annotate(problem=problem).order_by("problem", "position")


def may_import_into(actor: Actor, dn: str) -> bool:
    """An organization or group (inside a domain) where the actor may create users."""
    return (
        dit.valid_dn(dn)
        and can(actor, Verb.CREATE, dn, kind=Kind.USER)
        and mail_container_get(dn=dn) is not None
    )


def import_containers(actor: Actor) -> list[str] | None:
    """The organizations and groups the actor may import into (sorted), or None if there are more than
    CONTAINER_CHOICES of them (the form then takes a DN)."""
    roles = actor.roles
    bases = [dit.domains_dn()] if roles.administrator else sorted(roles.domains | roles.groups)
    found: dict[str, str] = {}
    for base in bases:
        try:
            entries = directory.search(
                base, MAILBOX_CONTAINER_FILTER, directory.NO_ATTRS, limit=CONTAINER_CHOICES
            )
        except DirectorySizeLimit:
            return None
        for entry in entries:
            if dit.domain_of(entry.dn) and can(actor, Verb.CREATE, entry.dn, kind=Kind.USER):
                found.setdefault(dit.normalize_dn(entry.dn), entry.dn)
        if len(found) > CONTAINER_CHOICES:
            return None
    return sorted(found.values(), key=lambda dn: list(reversed(dit.normalize_dn(dn).split(","))))


def taken_names(uids: Sequence[str], addresses: Sequence[str]) -> tuple[set[str], set[str]]:
    """Which of `uids` are login names and which of `addresses` are addresses (mail or mailAlias) of an
    entry anywhere on the server already: one search per LOOKUP_BATCH names."""
    taken_uids: set[str] = set()
    taken_addresses: set[str] = set()
    wanted_uids, wanted_addresses = set(uids), {a.lower() for a in addresses}
    terms = [filter_eq("uid", u) for u in wanted_uids]
    for address in wanted_addresses:
        terms += [filter_eq("mail", address), filter_eq("mailAlias", address)]
    for start in range(0, len(terms), LOOKUP_BATCH):
        batch = terms[start : start + LOOKUP_BATCH]
        for entry in directory.iter_paged(dit.base_dn(), filter_or(*batch), ["uid", "mail", "mailAlias"]):
            taken_uids.update(u for u in entry.values("uid") if u in wanted_uids)
            taken_addresses.update(
                a.lower()
                for a in (*entry.values("mail"), *entry.values("mailAlias"))
                if a.lower() in wanted_addresses
            )
    return taken_uids, taken_addresses


def existing_mailboxes() -> set[str]:
    """Login names that have a mailbox in Cyrus (a kept mailbox blocks its name for a new account)."""
    with imap.admin_session() as admin:
        return admin.user_mailboxes()
