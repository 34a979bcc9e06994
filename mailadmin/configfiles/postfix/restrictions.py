"""main.cf's smtpd restriction lists and restriction classes: sender logins, "Send/Receive only local mail",
who may write to an alias, the relay rules' policy checks, and what the submission service uses instead.

Each function adds its part to a list of (parameter, value) pairs; the order of the calls is the order of the
checks (see render_main_cf)."""

from __future__ import annotations

from collections.abc import Sequence

from mailadmin.configfiles import values as v
from mailadmin.configfiles.contract import (
    ALIAS_LOCAL_SENDERS_CLASS,
    ALIAS_SAME_DOMAIN_CLASS,
    RECEIVE_LOCAL_ONLY_CLASS,
    SEND_LOCAL_ONLY_CLASS,
)
from mailadmin.configfiles.postfix.params import (
    ALIAS_LOCAL_SENDERS_REPLY,
    ALIAS_POLICY_SERVICE,
    DURATION,
    RBL_ZONE,
    RECEIVE_LOCAL_ONLY_REPLY,
    SEND_LOCAL_ONLY_REPLY,
    UCE_RBL_CHECKS,
    UCE_RECIPIENT_CHECKS,
    WHEN_DOWN,
    AliasSenders,
    LocalOnly,
    RelayPolicy,
)
from mailadmin.configfiles.postfix_tables import table_ref

RELAY_POLICY_SUBMISSION_RELAY = "mailadmin_relayrules_submission_relay"
RELAY_POLICY_SUBMISSION_SENDER = "mailadmin_relayrules_submission_sender"
SUBMISSION_RECIPIENTS = "mailadmin_submission_recipient_restrictions"
_SASL_CHECK = "check_sasl_access "

Settings = list[tuple[str, str]]


def sender_login_settings(tables: Sequence[str], *, sasl: bool) -> Settings:
    """smtpd_sender_login_maps (address -> owning login); `sasl`: the server has SASL logins at all."""
    refs = [table_ref(f"sender_login_tables[{i}]", t) for i, t in enumerate(tables)]
    if not refs:
        return []
    if not sasl:
        raise v.ConfigValueError("sender_login_tables", "need sasl_config_dir (SASL logins)", refs[0])
    return [("smtpd_sender_login_maps", ", ".join(refs))]


def local_only_settings(lo: LocalOnly | None, mailbox_domain: str) -> Settings:
    """Restriction classes for the two flags, and the smtpd_recipient_restrictions that trigger them.

    Inside a class, a hosted domain answers OK, which ends smtpd_recipient_restrictions with "permit" for
    this recipient (relaying is decided before, in smtpd_relay_restrictions, and unknown recipients are still
    refused afterwards by smtpd_reject_unlisted_recipient). Hence the order: the send checks, then the
    receive check last; a check added later belongs before them. A class whose sender is local-only ends
    the list early, which is safe: that sender is an account of a hosted domain, so the receive check passes.
    """
    if lo is None:
        return []
    local = [
        table_ref(f"local_only.local_domain_tables[{i}]", t) for i, t in enumerate(lo.local_domain_tables)
    ]
    if not local:
        raise v.ConfigValueError("local_only.local_domain_tables", "must name at least one table", "")
    login = [table_ref(f"local_only.send_login_tables[{i}]", t) for i, t in enumerate(lo.send_login_tables)]
    sender = [
        table_ref(f"local_only.send_sender_tables[{i}]", t) for i, t in enumerate(lo.send_sender_tables)
    ]
    receive = [table_ref(f"local_only.receive_tables[{i}]", t) for i, t in enumerate(lo.receive_tables)]
    if not (login or sender or receive):
        raise v.ConfigValueError("local_only", "needs at least one send or receive table", "")
    # the delivery domain (uid@mailbox_domain) is local too
    hosted = [f"inline:{{{mailbox_domain}=OK}}", *local]
    send_class = [f"check_recipient_access {t}" for t in hosted]
    send_class.append(f"check_recipient_access static:{{{SEND_LOCAL_ONLY_REPLY}}}")
    receive_class = [f"check_sender_access {t}" for t in hosted]
    receive_class.append(f"check_recipient_access static:{{{RECEIVE_LOCAL_ONLY_REPLY}}}")
    triggers = [f"check_sasl_access {t}" for t in login]
    triggers += [f"check_sender_access {t}" for t in sender]
    triggers += [f"check_recipient_access {t}" for t in receive]
    return [
        ("smtpd_restriction_classes", f"{SEND_LOCAL_ONLY_CLASS}, {RECEIVE_LOCAL_ONLY_CLASS}"),
        (SEND_LOCAL_ONLY_CLASS, ", ".join(send_class)),
        (RECEIVE_LOCAL_ONLY_CLASS, ", ".join(receive_class)),
        ("smtpd_recipient_restrictions", ", ".join(triggers)),
    ]


def with_alias_senders(settings: Settings, a: AliasSenders | None, mailbox_domain: str) -> Settings:
    """Add the alias sender classes to smtpd_restriction_classes and their triggers to
    smtpd_recipient_restrictions: after any leading check_policy_service (relay rules come first), before
    the local-only triggers (whose classes end the list with OK for hosted domains). A class that lets the
    sender through ends the list with OK too, which is safe for the same reason: the recipient is an alias
    of a hosted domain, relaying is decided before, and unknown recipients are refused after."""
    if a is None:
        return settings
    name = "alias_senders"
    restricted = [table_ref(f"{name}.restricted_tables[{i}]", t) for i, t in enumerate(a.restricted_tables)]
    closed = [table_ref(f"{name}.closed_tables[{i}]", t) for i, t in enumerate(a.closed_tables)]
    local = [table_ref(f"{name}.local_domain_tables[{i}]", t) for i, t in enumerate(a.local_domain_tables)]
    if not (restricted and closed and local and a.policy_argv):
        raise v.ConfigValueError(name, "needs restricted, closed and local-domain tables and a policy", "")
    hosted = [f"inline:{{{mailbox_domain}=OK}}", *local]
    local_class = [f"check_sender_access {t}" for t in hosted]
    local_class.append(f"check_recipient_access static:{{{ALIAS_LOCAL_SENDERS_REPLY}}}")
    same_class = f"check_policy_service unix:private/{ALIAS_POLICY_SERVICE}"
    triggers = [f"check_recipient_access {t}" for t in restricted + closed]
    out = dict(settings)
    classes = [c for c in out.get("smtpd_restriction_classes", "").split(", ") if c]
    out["smtpd_restriction_classes"] = ", ".join(
        [*classes, ALIAS_SAME_DOMAIN_CLASS, ALIAS_LOCAL_SENDERS_CLASS]
    )
    out[ALIAS_SAME_DOMAIN_CLASS] = same_class
    out[ALIAS_LOCAL_SENDERS_CLASS] = ", ".join(local_class)
    present = [r for r in out.get("smtpd_recipient_restrictions", "").split(", ") if r]
    lead = 0
    while lead < len(present) and present[lead].startswith("check_policy_service"):
        lead += 1
    out["smtpd_recipient_restrictions"] = ", ".join([*present[:lead], *triggers, *present[lead:]])
    # spawn(8) ends a policy process after $<service>_time_limit; smtpd keeps its connection much shorter
    out[f"{ALIAS_POLICY_SERVICE}_time_limit"] = "3600s"
    return list(out.items())


def _relay_check(rp: RelayPolicy, context: str) -> str:
    """Settings inside the braces apply to this service only (not to other helpers' policy services)."""
    port = v.port("relay_policy.port", rp.port)
    timeout = v.text("relay_policy.timeout", rp.timeout, pattern=DURATION)
    # "defer": Postfix's own default_action, 451 4.3.5 Server configuration problem
    when_down = v.choice("relay_policy.when_down", rp.when_down, WHEN_DOWN)
    settings = [f"inet:127.0.0.1:{port}", f"timeout={timeout}", f"policy_context={context}"]
    if when_down == "dunno":
        settings.append("default_action=DUNNO")
    # no ", " inside the braces: other renderers split these lists on ", " (see with_alias_senders)
    return "check_policy_service { " + ",".join(settings) + " }"


def with_relay_policy(settings: Settings, rp: RelayPolicy | None) -> Settings:
    """The relay rules' checks: FIRST in smtpd_recipient_restrictions; in smtpd_relay_restrictions after
    permit_auth_destination (so only relay attempts reach it) and before the permits; the submission lists
    as parameters that master.cf names (they hold spaces, which `-o` values cannot)."""
    if rp is None:
        return settings
    out = dict(settings)
    present = [r for r in out.get("smtpd_recipient_restrictions", "").split(", ") if r]
    out["smtpd_recipient_restrictions"] = ", ".join([_relay_check(rp, "recipient"), *present])
    relay = [r for r in out.get("smtpd_relay_restrictions", "").split(", ") if r]
    out["smtpd_relay_restrictions"] = ", ".join(
        ["permit_auth_destination", _relay_check(rp, "relay"), *relay]
    )
    out[RELAY_POLICY_SUBMISSION_RELAY] = ", ".join(
        ["permit_auth_destination", _relay_check(rp, "relay"), "permit_sasl_authenticated", "reject"]
    )
    out[RELAY_POLICY_SUBMISSION_SENDER] = ", ".join(
        [
            _relay_check(rp, "sender"),
            *(["reject_sender_login_mismatch"] if out.get("smtpd_sender_login_maps") else []),
        ]
    )
    return list(out.items())


def with_uce_checks(settings: Settings, rbl_sites: Sequence[str]) -> Settings:
    """The UCE controls' recipient checks and DNS blocklists (CFG-02), as `$name` references in
    smtpd_recipient_restrictions: after the leading policy checks (the relay rules come first), before the
    alias-sender and local-only triggers (whose classes may end the list with OK, which would skip a check
    placed after them). Both parameters are always written, empty by default, so a menu value replaces the
    line where it stands and Postfix never sees an undefined name; the submission service empties the
    blocklist one (master_cf.submission_checks)."""
    checks = []
    for i, zone in enumerate(rbl_sites):
        if not RBL_ZONE.fullmatch(zone):
            raise v.ConfigValueError(f"rbl_sites[{i}]", "must be a DNS zone such as zen.spamhaus.org", zone)
        checks.append(f"reject_rbl_client {zone}")
    out = dict(settings)
    present = [r for r in out.get("smtpd_recipient_restrictions", "").split(", ") if r]
    lead = 0
    while lead < len(present) and present[lead].startswith("check_policy_service"):
        lead += 1
    ours = [f"${UCE_RECIPIENT_CHECKS}", f"${UCE_RBL_CHECKS}"]
    out[UCE_RECIPIENT_CHECKS] = out.get(UCE_RECIPIENT_CHECKS, "")
    out[UCE_RBL_CHECKS] = ", ".join(checks)
    out["smtpd_recipient_restrictions"] = ", ".join([*present[:lead], *ours, *present[lead:]])
    return list(out.items())


def with_submission_recipients(settings: Settings) -> Settings:
    """check_sasl_access means something only where clients log in. On port 25 (no SASL) smtpd would log
    "check_sasl_access ignored: no SASL support" for every RCPT, so main.cf's list leaves those checks out and
    the whole list, in its order, becomes a parameter that the submission service names in master.cf."""
    out = dict(settings)
    present = [r for r in out.get("smtpd_recipient_restrictions", "").split(", ") if r]
    if not any(r.startswith(_SASL_CHECK) for r in present):
        return settings
    out["smtpd_recipient_restrictions"] = ", ".join(r for r in present if not r.startswith(_SASL_CHECK))
    out[SUBMISSION_RECIPIENTS] = ", ".join(present)
    return list(out.items())
