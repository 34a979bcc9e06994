"""The relay rules themselves: events, actions, patterns, and the evaluation of an envelope.

Pure Python with no I/O (Django only to translate the refusals), so the policy service (`manage.py
policyd`) and the rule page's tester run the very same code. Patterns are checked against an allow-list
and matched by a small wildcard matcher (no regular expressions built from user input: nothing to inject,
no catastrophic backtracking).

Postfix asks the policy service from three places (its `policy_context` attribute says which):
- "relay"     smtpd_relay_restrictions, only for recipients outside the hosted domains
              (permit_auth_destination comes first): RELAY rules. Accept answers OK, which permits relaying.
- "sender"    submission's smtpd_sender_restrictions, before reject_sender_login_mismatch: AUTH_MISMATCH
              rules. Accept and Header answer OK, which lets the mismatching sender through (the header
              is added in the recipient context).
- "recipient" first in smtpd_recipient_restrictions: every other event. Accept answers DUNNO: the relay
              rules stop there and Postfix's own checks (unknown recipients, local-only accounts) still apply.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.translation import gettext as _


class Event(StrEnum):
    SUBMIT = "SUBMIT"
    ANONYMOUS = "ANONYMOUS"
    AUTH_SUCCESS = "AUTH_SUCCESS"
    AUTH_MISMATCH = "AUTH_MISMATCH"
    RELAY = "RELAY"
    ORIGINATOR = "ORIGINATOR"
    RECIPIENT = "RECIPIENT"


class Action(StrEnum):
    ACCEPT = "Accept"
    DEFER = "Defer"
    DISCARD = "Discard"
    HEADER = "Header"
    REJECT = "Reject"


class Context(StrEnum):
    RECIPIENT = "recipient"
    RELAY = "relay"
    SENDER = "sender"


# Events whose pattern is an e-mail address; all others match the client host (name or address).
ADDRESS_EVENTS = frozenset({Event.ORIGINATOR, Event.RECIPIENT})
CONTEXT_EVENTS: dict[Context, frozenset[Event]] = {
    Context.RELAY: frozenset({Event.RELAY}),
    Context.SENDER: frozenset({Event.AUTH_MISMATCH}),
    Context.RECIPIENT: frozenset(Event) - {Event.RELAY},
}
# The header each event adds (the Scalix fragment's wording, without the vendor prefix).
HEADER_NAMES: dict[Event, str] = {
    Event.SUBMIT: "X-Suspicious-Host",
    Event.ANONYMOUS: "X-Anonymous-Message",
    Event.AUTH_SUCCESS: "X-Authenticated-Sender",
    Event.AUTH_MISMATCH: "X-Authentication-Mismatch",
    Event.RELAY: "X-Relay-Attempt",
    Event.ORIGINATOR: "X-Suspicious-Originator",
    Event.RECIPIENT: "X-Suspicious-Recipient",
}
DEFAULT_DEFER_TEXT = "Message deferred by an SMTP relay rule, try again later"
DEFAULT_REJECT_TEXT = "Message rejected by an SMTP relay rule"
DEFER_CODE = "450 4.7.1"
REJECT_CODE = "550 5.7.1"
TEXT_MAX = 200
PATTERN_MAX = 255
_STARS_MAX = 8
_HOST_GLOB = re.compile(r"[a-z0-9*?](?:[a-z0-9*?.-]{0,253}[a-z0-9*?])?")
_LOCAL_GLOB = re.compile(r"[a-z0-9*?._%+=-]{1,64}")
_TEXT = re.compile(rf"[ -~]{{1,{TEXT_MAX}}}")


class PatternError(ValueError):
    """A pattern or reply text the allow-list refuses; the message is for the person who typed it."""


# --- validation ------------------------------------------------------------------------------------------
def clean_pattern(event: Event, raw: str) -> str:
    """The normalised pattern (lower case), or PatternError.

    Host events: `*`, an IPv4/IPv6 address, a network in CIDR form (`192.0.2.0/24`), or a host name where
    `*` and `?` are wildcards (`*.example.com`). Address events: `*`, or local@domain with the same
    wildcards on both sides (`*@*.spam.net`).
    """
    if not isinstance(raw, str) or raw != raw.strip() or not raw:
        raise PatternError(_("Enter a pattern without leading or trailing spaces."))
    if len(raw) > PATTERN_MAX:
        raise PatternError(_("A pattern has at most %(max)d characters.") % {"max": PATTERN_MAX})
    value = raw.lower()
    if value == "*":
        return value
    if value.count("*") > _STARS_MAX:
        raise PatternError(_("A pattern has at most %(max)d wildcards.") % {"max": _STARS_MAX})
    if event in ADDRESS_EVENTS:
        local, at, domain = value.partition("@")
        if not at or "@" in domain or not _LOCAL_GLOB.fullmatch(local) or not _host_glob_ok(domain):
            raise PatternError(
                _(
                    "Enter an e-mail address pattern such as *@*.spam.net or user@example.com "
                    "(letters, digits, . - _ + = and the wildcards * and ?)."
                )
            )
        return value
    if _network(value) is not None:
        return value
    if not _host_glob_ok(value):
        raise PatternError(
            _(
                "Enter a host pattern: *, an IP address, a network such as 192.0.2.0/24, or a host name "
                "such as *.example.com (the wildcards are * and ?)."
            )
        )
    return value


def _host_glob_ok(value: str) -> bool:
    if not _HOST_GLOB.fullmatch(value) or ".." in value:
        return False
    return all(0 < len(label) <= 63 for label in value.split("."))


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not any(c.isdigit() for c in value) or not all(c in "0123456789abcdef.:/" for c in value):
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def clean_text(raw: str) -> str:
    """Optional reply text: printable ASCII (SMTP replies are ASCII), one line, at most TEXT_MAX."""
    if raw is None:
        return ""
    value = raw.strip()
    if not value:
        return ""
    if not _TEXT.fullmatch(value):
        raise PatternError(
            _(
                "The text must be one line of at most %(max)d printable ASCII characters "
                "(no line breaks or control characters)."
            )
            % {"max": TEXT_MAX}
        )
    return value


# --- matching --------------------------------------------------------------------------------------------
def wildcard_match(pattern: str, text: str) -> bool:
    """`*` = any run of characters, `?` = one character; case is already folded by the caller.

    The iterative two-pointer algorithm: at most len(pattern) * len(text) steps, never exponential.
    Literal patterns and the literal ends of a pattern are compared first (most rules fail there, fast).
    """
    if "?" not in pattern:
        first, last = pattern.find("*"), pattern.rfind("*")
        if first < 0:
            return pattern == text
        if not (text.startswith(pattern[:first]) and text.endswith(pattern[last + 1 :])):
            return False
        if first == last:
            return len(text) >= len(pattern) - 1
    p = t = 0
    star = -1
    mark = 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


@dataclass(frozen=True)
class Envelope:
    """What Postfix tells the policy service (SMTPD_POLICY_README attribute names)."""

    client_address: str = ""
    client_name: str = ""
    sasl_username: str = ""
    sender: str = ""
    recipient: str = ""
    context: Context = Context.RECIPIENT

    @classmethod
    def from_attrs(cls, attrs: dict[str, str]) -> Envelope:
        raw = attrs.get("policy_context", "")
        context = Context(raw) if raw in {c.value for c in Context} else Context.RECIPIENT
        return cls(
            client_address=attrs.get("client_address", ""),
            client_name=attrs.get("client_name", ""),
            sasl_username=attrs.get("sasl_username", ""),
            sender=attrs.get("sender", ""),
            recipient=attrs.get("recipient", ""),
            context=context,
        )


@dataclass(frozen=True)
class Rule:
    id: int
    position: int
    event: Event
    pattern: str
    action: Action
    text: str = ""
    # compiled once: the network of an address pattern (None for globs)
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = field(default=None, compare=False)

    @classmethod
    def make(cls, *, id: int, position: int, event: str, pattern: str, action: str, text: str = "") -> Rule:  # noqa: A002
        ev = Event(event)
        clean = clean_pattern(ev, pattern)
        net = None if ev in ADDRESS_EVENTS or clean == "*" else _network(clean)
        return cls(id, position, ev, clean, Action(action), clean_text(text), net)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "position": self.position,
            "event": self.event.value,
            "pattern": self.pattern,
            "action": self.action.value,
            "text": self.text,
        }

    def matches_host(self, facts: Facts) -> bool:
        if self.pattern == "*":
            return True
        if self.network is not None:
            return facts.ip is not None and facts.ip in self.network
        return wildcard_match(self.pattern, facts.address) or (
            bool(facts.name) and wildcard_match(self.pattern, facts.name)
        )


@dataclass(frozen=True)
class Facts:
    """An envelope prepared once per decision (parsed address, folded case), not once per rule."""

    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    address: str
    name: str
    sender: str
    recipient: str

    @classmethod
    def of(cls, env: Envelope) -> Facts:
        try:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(
                env.client_address
            )
        except ValueError:
            ip = None
        name = env.client_name.lower()
        return cls(
            ip=ip,
            address=env.client_address.lower(),
            name="" if name == "unknown" else name,
            sender=env.sender.lower(),
            recipient=env.recipient.lower(),
        )


# Who owns a MAIL FROM address: the logins (uids) that may send as it. Empty = nobody.
OwnerLookup = Callable[[str], Iterable[str]]


@dataclass(frozen=True)
class Decision:
    rule: Rule | None
    action: str  # the Postfix policy answer: DUNNO, OK, DISCARD ..., PREPEND ..., 450 ..., 550 ...

    @property
    def final(self) -> bool:
        return self.action.split(" ", 1)[0] in {"OK", "DISCARD"} or self.action[:1] in {"4", "5"}


DUNNO = Decision(None, "DUNNO")


def needs_owner(rules: Sequence[Rule]) -> bool:
    return any(r.event is Event.AUTH_MISMATCH for r in rules)


def event_applies(rule: Rule, env: Envelope, owners: OwnerLookup | None, facts: Facts | None = None) -> bool:
    ev = rule.event
    f = facts if facts is not None else Facts.of(env)
    if ev is Event.ORIGINATOR:
        return wildcard_match(rule.pattern, f.sender)
    if ev is Event.RECIPIENT:
        return wildcard_match(rule.pattern, f.recipient)
    if not rule.matches_host(f):
        return False
    if ev in (Event.SUBMIT, Event.RELAY):
        return True
    if ev is Event.ANONYMOUS:
        return not env.sasl_username
    if ev is Event.AUTH_SUCCESS:
        return bool(env.sasl_username)
    # AUTH_MISMATCH: logged in, and the login does not own MAIL FROM (the null sender is nobody's).
    if not env.sasl_username or not env.sender or owners is None:
        return False
    login = env.sasl_username.lower()
    return login not in {o.lower() for o in owners(env.sender)}


def evaluate(rules: Sequence[Rule], env: Envelope, owners: OwnerLookup | None = None) -> Decision:
    """The first rule (in order) of this context's events that matches, turned into a Postfix answer."""
    wanted = CONTEXT_EVENTS[env.context]
    facts = Facts.of(env)
    for rule in rules:
        if rule.event in wanted and event_applies(rule, env, owners, facts):
            return Decision(rule, answer(rule, env))
    return DUNNO


def answer(rule: Rule, env: Envelope) -> str:
    """The access(5) action Postfix gets for this rule in this context."""
    act = rule.action
    if act is Action.ACCEPT:
        return "DUNNO" if env.context is Context.RECIPIENT else "OK"
    if act is Action.HEADER:
        return "OK" if env.context is Context.SENDER else f"PREPEND {header(rule.event, env)}"
    if act is Action.DEFER:
        return f"{DEFER_CODE} {rule.text or DEFAULT_DEFER_TEXT}"
    if act is Action.REJECT:
        return f"{REJECT_CODE} {rule.text or DEFAULT_REJECT_TEXT}"
    return f"DISCARD {rule.text or f'SMTP relay rule {rule.position}'}"


def _safe(value: str) -> str:
    """Header values come from the SMTP client: printable ASCII only, bounded."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in value)
    return cleaned[:200] or "unknown"


def _host(env: Envelope) -> str:
    name = env.client_name if env.client_name and env.client_name != "unknown" else "unknown"
    return _safe(f"{name}[{env.client_address}]")


def header(event: Event, env: Envelope) -> str:
    """`Name: value` naming the event, in the words of the Scalix fragment."""
    if event is Event.ANONYMOUS:
        value = f"from {_host(env)}"
    elif event is Event.AUTH_SUCCESS:
        value = f"{_safe(env.sender or '<>')}; authenticated as {_safe(env.sasl_username)}"
    elif event is Event.AUTH_MISMATCH:
        value = (
            f"Message originated from {_safe(env.sender)}, "
            f"but authenticated identity is {_safe(env.sasl_username)}"
        )
    elif event is Event.ORIGINATOR:
        value = _safe(env.sender or "<>")
    elif event is Event.RECIPIENT:
        value = _safe(env.recipient)
    else:  # SUBMIT, RELAY: the client host
        value = _host(env)
    return f"{HEADER_NAMES[event]}: {value}"


def smtp_reply(decision: Decision, env: Envelope) -> str:
    """What the SMTP client sees for RCPT TO (Postfix's wording), for the tester."""
    act = decision.action
    if act[:1] in {"4", "5"}:
        code, dsn, text = (act.split(" ", 2) + ["", ""])[:3]
        what = "Sender address" if env.context is Context.SENDER else "Recipient address"
        where = env.sender if env.context is Context.SENDER else env.recipient
        return f"{code} {dsn} <{where}>: {what} rejected: {text}"
    if act.startswith("DISCARD"):
        return "250 2.1.5 Ok (the message is accepted, then silently discarded)"
    if act.startswith("PREPEND"):
        return f"250 2.1.5 Ok (header added: {act.removeprefix('PREPEND ')})"
    return "250 2.1.5 Ok"
