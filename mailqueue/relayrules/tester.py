"""The rule page's tester: what Postfix would answer to one RCPT TO, with rules that may not be saved yet.

It walks the same steps as Postfix (docs/relay-rules.md): submission's client check, the sender context
(before reject_sender_login_mismatch), the relay context (only for recipients outside the hosted domains),
then the recipient context; each context is evaluated by the policy service's own `engine.evaluate`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.utils.translation import gettext as _

from mailadmin import directory
from mailadmin.directory import InvalidName, dit
from mailqueue.relayrules.engine import Context, Decision, Envelope, Rule, evaluate, smtp_reply


@dataclass
class Step:
    context: Context
    decision: Decision
    note: str = ""


@dataclass
class Outcome:
    reply: str
    steps: list[Step] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def fired(self) -> Rule | None:
        for step in reversed(self.steps):
            if step.decision.rule is not None:
                return step.decision.rule
        return None


def hosted(domain: str) -> bool:
    if domain == settings.MAILBOX_DOMAIN:
        return True
    try:
        return directory.exists(dit.domain_dn(domain))
    except InvalidName:
        return False


def simulate(
    rules: Sequence[Rule],
    env: Envelope,
    *,
    submission: bool,
    is_hosted: Callable[[str], bool] = hosted,
    owners: Callable[[str], list[str]] | None = None,
) -> Outcome:
    if owners is None:
        from mailqueue.relayrules.policyd import ldap_owners

        owners = ldap_owners
    owned_cache: dict[str, list[str]] = {}

    def owned(address: str) -> list[str]:
        if address not in owned_cache:
            owned_cache[address] = owners(address)
        return owned_cache[address]

    out = Outcome(reply="")
    if submission and not env.sasl_username:
        out.reply = f"554 5.7.1 <unknown[{env.client_address}]>: Client host rejected: Access denied"
        out.note = _("The submission port takes mail only after SMTP AUTH; no rule is asked.")
        return out
    if submission:
        sender_env = replace(env, context=Context.SENDER)
        d = evaluate(rules, sender_env, owned)
        out.steps.append(Step(Context.SENDER, d))
        if d.final and d.action != "OK":
            out.reply = smtp_reply(d, sender_env)
            return out
        if (
            d.action != "OK"
            and env.sender
            and env.sasl_username.lower() not in {o.lower() for o in owned(env.sender)}
        ):
            out.reply = (
                f"553 5.7.1 <{env.sender}>: Sender address rejected: not owned by user {env.sasl_username}"
            )
            out.note = _("Postfix's own sender check (reject_sender_login_mismatch).")
            return out
    domain = env.recipient.rpartition("@")[2]
    if not is_hosted(domain):
        relay_env = replace(env, context=Context.RELAY)
        d = evaluate(rules, relay_env, owned)
        out.steps.append(Step(Context.RELAY, d))
        if d.action.startswith("PREPEND "):
            out.headers.append(d.action.removeprefix("PREPEND "))
        if d.final and d.action != "OK":
            out.reply = smtp_reply(d, relay_env)
            return out
        if d.action != "OK" and not submission and not _mynetworks(env.client_address):
            out.reply = f"554 5.7.1 <{env.recipient}>: Relay access denied"
            out.note = _("Postfix's own relay check (reject_unauth_destination).")
            return out
    rcpt_env = replace(env, context=Context.RECIPIENT)
    d = evaluate(rules, rcpt_env, owned)
    out.steps.append(Step(Context.RECIPIENT, d))
    if d.action.startswith("PREPEND "):
        out.headers.append(d.action.removeprefix("PREPEND "))
    out.reply = smtp_reply(d, rcpt_env)
    if not d.final:
        out.note = _(
            "Then Postfix's own checks decide (unknown recipients, accounts that send or receive only local "
            "mail, aliases)."
        )
    return out


def _mynetworks(address: str) -> bool:
    # the stack's main.cf: mynetworks = 127.0.0.0/8 (mailadmin/configfiles/postfix/)
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False
