"""Reading the mail queue (DLV-01): pages and matches, streamed from `postqueue -j`, never loaded whole.

The queue is not copied anywhere: every page is a fresh pass over `postqueue -j` that stops as soon as the
page (and one more match, to know there is a next page) is found. Filters are checked on the raw JSON line
with a cheap substring test first, so messages that cannot match are never parsed.

Who sees what: administrators see everything; domain administrators see a message when its sender or one of
its recipients is in one of their domains; everyone else sees nothing. A domain administrator may act on a
message (Hold, Release, Requeue, Delete, Flush) only when it is theirs: its envelope sender is in their
domains (their users' outgoing mail), or every recipient is. Any other message they see is read-only and
shown without the recipients outside their domains; filters never match what is not shown.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from mailadmin import directory, postfix
from mailadmin.actor import Actor
from mailadmin.directory import dit

PAGE_SIZE = 50
QUEUES = ("active", "deferred", "hold", "incoming", "maildrop")
# Needles safe to look for in the raw JSON line: JSON writes these characters as they are.
_PLAIN = re.compile(r"[a-z0-9@._+=-]+\Z")


@dataclass(frozen=True)
class Recipient:
    address: str
    reason: str


@dataclass(frozen=True)
class QueuedMessage:
    queue_id: str
    queue: str
    arrival: datetime
    size: int
    sender: str
    recipients: tuple[Recipient, ...]
    actionable: bool = True  # False: someone else's message a domain administrator may only look at
    hidden_recipients: int = 0  # recipients outside the reader's domains, left out of `recipients`

    @property
    def reasons(self) -> list[str]:
        """The distinct reasons it waits, in recipient order."""
        return list(dict.fromkeys(r.reason for r in self.recipients if r.reason))

    @property
    def domains(self) -> set[str]:
        found = {_domain(self.sender)} | {_domain(r.address) for r in self.recipients}
        found.discard("")
        return found

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueuedMessage:
        recipients = tuple(
            Recipient(str(r.get("address", "")), str(r.get("delay_reason", "")))
            for r in data.get("recipients") or ()
            if isinstance(r, dict)
        )
        arrival = data.get("arrival_time")
        return cls(
            queue_id=str(data.get("queue_id", "")),
            queue=str(data.get("queue_name", "")),
            arrival=datetime.fromtimestamp(arrival if isinstance(arrival, int) else 0, tz=UTC),
            size=int(data.get("message_size") or 0),
            sender=str(data.get("sender", "")),
            recipients=recipients,
        )


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower() if "@" in address else ""


class MailboxDomains:
    """Where a local recipient belongs. Postfix rewrites every account's address to `<uid>@<mailbox
    domain>` before delivery (decision 0002), so mail waiting for a local mailbox names that internal
    domain; the account's own domain is read from the directory, once per login name and pass."""

    def __init__(self) -> None:
        self.mailbox_domain = str(settings.MAILBOX_DOMAIN).lower()
        self._known: dict[str, str] = {}

    def __call__(self, address: str) -> str:
        domain = _domain(address)
        if domain != self.mailbox_domain:
            return domain
        uid = address.rpartition("@")[0].lower()
        if uid not in self._known:
            self._known[uid] = _account_domain(uid)
        return self._known[uid]


def _account_domain(uid: str) -> str:
    try:
        login = directory.check_login(uid)
        found = directory.search(
            dit.domains_dn(), directory.filter_eq("uid", login), directory.NO_ATTRS, limit=2
        )
    except (directory.InvalidName, directory.DirectoryError):
        return ""
    return (dit.domain_of(found[0].dn) or "") if len(found) == 1 else ""


def as_seen_by(
    msg: QueuedMessage, scope: frozenset[str], domain_of: Callable[[str], str] = _domain
) -> QueuedMessage | None:
    """The message as a domain administrator of `scope` sees it: None when nothing of it is in their
    domains; theirs (sender, or every recipient, in their domains) whole; anyone else's read-only and
    without the recipients outside their domains."""
    ours = tuple(r for r in msg.recipients if domain_of(r.address) in scope)
    if domain_of(msg.sender) in scope or (msg.recipients and len(ours) == len(msg.recipients)):
        return msg
    if not ours:
        return None
    return replace(msg, recipients=ours, actionable=False, hidden_recipients=len(msg.recipients) - len(ours))


@dataclass(frozen=True)
class QueueFilter:
    """What the page's filter form asks for. Text filters match case-insensitively anywhere in the value;
    `domain` matches the sender's or a recipient's domain exactly; `older_than` is in minutes."""

    queue: str = ""
    sender: str = ""
    recipient: str = ""
    domain: str = ""
    older_than: int | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.queue and self.queue not in QUEUES:
            raise ValueError(f"unknown queue {self.queue!r}")

    def to_params(self) -> dict[str, str]:
        params = {
            "queue": self.queue,
            "sender": self.sender,
            "recipient": self.recipient,
            "domain": self.domain,
            "older_than": "" if self.older_than is None else str(self.older_than),
            "reason": self.reason,
        }
        return {k: v for k, v in params.items() if v}

    @classmethod
    def from_params(cls, data: Any) -> QueueFilter:
        """From a dict of already validated values (the form's cleaned data, a job's params)."""
        older = data.get("older_than")
        return cls(
            queue=str(data.get("queue") or ""),
            sender=str(data.get("sender") or "").strip().lower(),
            recipient=str(data.get("recipient") or "").strip().lower(),
            domain=str(data.get("domain") or "").strip().lower(),
            older_than=int(older) if isinstance(older, int) or (isinstance(older, str) and older.isdigit())
            else None,
            reason=str(data.get("reason") or "").strip().lower(),
        )  # fmt: skip

    @property
    def empty(self) -> bool:
        return not self.to_params()


@dataclass
class _Matcher:
    """The filter and the actor's scope, compiled for one pass over the queue."""

    flt: QueueFilter
    scope: frozenset[str] | None  # None: everything; else the domain names the actor may see
    needles: list[bytes] = field(default_factory=list)
    cutoff: float | None = None
    domain_of: Callable[[str], str] = field(default_factory=MailboxDomains)

    def __post_init__(self) -> None:
        f = self.flt
        if f.queue:
            self.needles.append(f'"queue_name": "{f.queue}"'.encode())
        for text in (f.sender, f.recipient, f.domain, f.reason):
            if text and _PLAIN.match(text):
                self.needles.append(text.encode())
        if f.older_than is not None:
            self.cutoff = time.time() - f.older_than * 60

    def match(self, line: bytes) -> QueuedMessage | None:
        if self.needles:
            low = line.lower()
            if any(n not in low for n in self.needles):
                return None
        try:
            data = json.loads(line)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        msg = QueuedMessage.from_json(data)
        if not postfix.valid_queue_id(msg.queue_id):
            return None  # never offer an id the actions would refuse
        if self.scope is not None:
            # Before the filters: they never match a recipient that is not shown.
            seen = as_seen_by(msg, self.scope, self.domain_of)
            if seen is None:
                return None
            msg = seen
        f = self.flt
        if f.queue and msg.queue != f.queue:
            return None
        if f.sender and f.sender not in msg.sender.lower():
            return None
        if f.recipient and not any(f.recipient in r.address.lower() for r in msg.recipients):
            return None
        if f.domain and f.domain not in msg.domains:
            return None
        if f.reason and not any(f.reason in r.lower() for r in msg.reasons):
            return None
        if self.cutoff is not None and msg.arrival.timestamp() > self.cutoff:
            return None
        return msg


def actor_scope(actor: Actor) -> frozenset[str] | None:
    """None for administrators (the whole queue); the names of the domains a domain administrator holds;
    an empty set for anyone else (they see no message)."""
    if actor.roles.administrator:
        return None
    return frozenset(name.lower() for dn in actor.roles.domains if (name := dit.domain_name(dn)))


def iter_queue(actor: Actor, flt: QueueFilter | None = None) -> Generator[QueuedMessage, None, None]:
    """Every message the actor may see that matches `flt`, in postqueue's order, streamed."""
    scope = actor_scope(actor)
    if scope is not None and not scope:
        return
    matcher = _Matcher(flt or QueueFilter(), scope)
    lines = postfix.postqueue_lines(settings.POSTFIX_CONFIG_DIR)
    try:
        for line in lines:
            msg = matcher.match(line)
            if msg is not None:
                yield msg
    finally:
        lines.close()  # stops postqueue at once when the caller has enough


@dataclass(frozen=True)
class QueuePage:
    messages: list[QueuedMessage]
    page: int
    has_next: bool


def queue_page(actor: Actor, flt: QueueFilter, page: int = 1, size: int = PAGE_SIZE) -> QueuePage:
    """One page of matches; reads the queue only as far as this page and one message beyond it."""
    skip = (max(page, 1) - 1) * size
    found: list[QueuedMessage] = []
    has_next = False
    stream = iter_queue(actor, flt)
    try:
        for n, msg in enumerate(stream):
            if n < skip:
                continue
            if len(found) == size:
                has_next = True
                break
            found.append(msg)
    finally:
        stream.close()
    return QueuePage(found, max(page, 1), has_next)


def queue_find(actor: Actor, queue_ids: set[str]) -> dict[str, QueuedMessage]:
    """Those of `queue_ids` that are in the queue now and that the actor may see (one pass, stops when all
    are found)."""
    wanted = {i for i in queue_ids if postfix.valid_queue_id(i)}
    found: dict[str, QueuedMessage] = {}
    if not wanted:
        return found
    scope = actor_scope(actor)
    if scope is not None and not scope:
        return found
    matcher = _Matcher(QueueFilter(), scope)
    lines = postfix.postqueue_lines(settings.POSTFIX_CONFIG_DIR)
    try:
        for line in lines:
            # The id is the second key of showq's JSON: cut it out without parsing the line.
            start = line.find(b'"queue_id": "')
            if start < 0:
                continue
            start += 13
            qid = line[start : line.find(b'"', start)].decode(errors="replace")
            if qid not in wanted:
                continue
            msg = matcher.match(line)
            if msg is not None:
                found[qid] = msg
                if len(found) == len(wanted):
                    break
    finally:
        lines.close()
    return found


def delivery_settings() -> dict[str, list[dict[str, object]]]:
    """The relay rules (in order) and the disclaimers as plain values, for a backup or to put them back."""
    from mailqueue.disclaimers.models import Disclaimer
    from mailqueue.relayrules.models import RelayRule

    rules = [
        {"position": r.position, "event": r.event, "pattern": r.pattern, "action": r.action, "text": r.text}
        for r in RelayRule.objects.order_by("position")
    ]
    disclaimers = [
        {"owner_dn": d.owner_dn, "text": d.text, "html": d.html, "outbound_only": d.outbound_only}
        for d in Disclaimer.objects.order_by("id")
    ]
    return {"relay_rules": rules, "disclaimers": disclaimers}
