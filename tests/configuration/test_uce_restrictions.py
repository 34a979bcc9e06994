"""Configuration → UCE controls (CFG-02, restrictions): set through the page as an administrator does,
proven by what the running smtpd answers in a real SMTP dialogue, and by postconf; refused input and refused
personas change nothing."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from mailadmin import postfix
from tests.configuration.test_postfix_pages import _token

pytestmark = pytest.mark.django_db

URL = "/configuration/uce/restrictions/"


def _smtp() -> smtplib.SMTP:
    return smtplib.SMTP(settings.SMTP_HOST, int(settings.SMTP_PORT), timeout=15)


def _apply(client: Client, data: dict[str, str]) -> None:
    confirm = client.post(URL, data)
    assert confirm.status_code == 200, confirm.content.decode()[:3000]
    done = client.post("/configuration/postfix/apply/", {"token": _token(confirm)})
    assert done.status_code == 302
    assert "/configuration/postfix/history/" in done["Location"]


def _dialogue() -> dict[str, tuple[int, bytes]]:
    """The replies that the UCE controls change, each in a fresh session."""
    out = {}
    with _smtp() as smtp:  # MAIL FROM before any HELO
        out["mail_without_helo"] = smtp.docmd("MAIL FROM:<probe@example.com>")
    with _smtp() as smtp:
        smtp.ehlo("client.example.com")
        out["vrfy"] = smtp.docmd("VRFY ursula")
    with _smtp() as smtp:
        smtp.ehlo("client.example.com")
        out["loose_envelope"] = smtp.docmd("MAIL FROM: probe@example.com")
    with _smtp() as smtp:
        smtp.ehlo("client.example.com")
        smtp.mail("probe")  # no domain: the sender check answers at RCPT TO (smtpd_delay_reject)
        out["short_sender"] = smtp.rcpt("ursula@a.test")
    with _smtp() as smtp:
        smtp.ehlo("client.example.com")
        smtp.mail("probe@example.com")
        out["short_recipient"] = smtp.rcpt("ursula")
        out["good_recipient"] = smtp.rcpt("ursula@a.test")
    return out


def test_the_page_shows_the_group_and_the_resulting_lists_in_order(
    personas: Any, login: Any, stack: Any
) -> None:
    page = login(personas.admin).get(URL)
    assert page.status_code == 200
    body = page.content.decode()
    for name in ("smtpd_helo_required", "mailadmin_uce_rbl_sites", "disable_vrfy_command"):
        assert f'name="v-{name}"' in body
    assert 'name="v-message_size_limit"' not in body  # the other Postfix groups stay on their page
    running = postfix.postconf_values(settings.POSTFIX_CONFIG_DIR, ["smtpd_recipient_restrictions"])
    value = running["smtpd_recipient_restrictions"]
    # the relay rules' policy service first, then the UCE checks, then the console's alias/local-only checks
    assert value.index("check_policy_service") < value.index("$mailadmin_uce_recipient_checks")
    assert value.index("$mailadmin_uce_rbl_checks") < value.index("check_recipient_access")
    assert "smtpd_recipient_restrictions" in body and "check_policy_service" in body
    assert ", ," not in body  # empty $parameters leave no empty items in the expanded lists


def test_restrictions_change_what_smtpd_answers_and_roll_back(
    personas: Any, login: Any, stack: Any, postfix_restored: Any
) -> None:
    before = _dialogue()
    assert before["mail_without_helo"][0] == 250
    assert before["vrfy"][0] != 502
    assert before["loose_envelope"][0] == 250
    assert before["short_sender"][0] == 250
    assert before["good_recipient"][0] == 250

    client = login(personas.admin)
    _apply(
        client,
        {
            "v-smtpd_helo_required": "yes",
            "v-disable_vrfy_command": "yes",
            "v-strict_rfc821_envelopes": "yes",
            "v-smtpd_sender_restrictions": "reject_non_fqdn_sender",
            "v-mailadmin_uce_recipient_checks": "reject_non_fqdn_recipient, reject_unauth_pipelining",
            "v-mailadmin_uce_rbl_sites": "rbl.mailadmin.invalid",
        },
    )
    after = _dialogue()
    assert after["mail_without_helo"][0] == 503, after
    assert after["vrfy"][0] == 502, after
    assert after["loose_envelope"][0] == 501, after
    assert after["short_sender"][0] == 504 and b"Sender address rejected" in after["short_sender"][1]
    assert after["short_recipient"][0] == 504 and b"Recipient address rejected" in after["short_recipient"][1]
    # a well-formed message still goes through: the blocklist does not list 127.0.0.1 (and .invalid never
    # answers, which lets the client through)
    assert after["good_recipient"][0] == 250, after

    expanded = postfix.postconf_values(
        settings.POSTFIX_CONFIG_DIR, ["smtpd_recipient_restrictions"], expand=True
    )["smtpd_recipient_restrictions"]
    assert "reject_non_fqdn_recipient, reject_unauth_pipelining, reject_rbl_client rbl.mailadmin.invalid" in (
        expanded
    )
    assert expanded.index("check_policy_service") < expanded.index("reject_non_fqdn_recipient")
    page = client.get(URL).content.decode()
    assert "reject_rbl_client rbl.mailadmin.invalid" in page  # the read-only resulting list

    # the history's previous version brings the old answers back
    history = client.get("/configuration/postfix/history/").content.decode()
    assert "smtpd_helo_required" in history
    from configuration.models import ConfigChange

    row = ConfigChange.objects.filter(service="postfix").first()
    assert row is not None
    restore = client.post("/configuration/postfix/restore/", {"version": str(row.base_version)})
    client.post("/configuration/postfix/apply/", {"token": _token(restore)})
    assert _dialogue() == before


@pytest.mark.parametrize(
    "data",
    [
        {"v-mailadmin_uce_rbl_sites": "zen.spamhaus.org\nreject"},
        {"v-mailadmin_uce_rbl_sites": "not a zone!"},
        {"v-mailadmin_uce_rbl_sites": "zen.spamhaus.org, $myhostname"},
        {"v-smtpd_sender_restrictions": "check_sender_access hash:/etc/passwd"},
        {"v-smtpd_helo_restrictions": "permit_mynetworks, reject_invalid_helo_hostname #x"},
        {"v-mailadmin_uce_recipient_checks": "permit"},  # would skip the console's own checks
        {"v-smtpd_helo_required": "maybe"},
        {"v-maps_rbl_reject_code": "250"},
        {"v-message_size_limit": "1"},  # a parameter of another group: not through this page
    ],
)
def test_hostile_values_change_nothing(
    personas: Any, login: Any, stack: Any, postfix_restored: Any, data: dict[str, str]
) -> None:
    main_cf = postfix_restored.config_path("main.cf").read_text(encoding="utf-8")
    response = login(personas.admin).post(URL, data)
    assert response.status_code == 400, response.content.decode()[:2000]
    assert 'role="alert"' in response.content.decode()
    assert postfix_restored.config_path("main.cf").read_text(encoding="utf-8") == main_cf


def test_other_personas_get_404_and_change_nothing(personas: Any, login: Any, stack: Any) -> None:
    main_cf = (postfix.Path(settings.POSTFIX_CONFIG_DIR) / "main.cf").read_text(encoding="utf-8")
    for who in (personas.domain_admin_a, personas.group_admin, personas.user):
        client = login(who)
        assert client.get(URL).status_code == 404
        assert client.post(URL, {"v-smtpd_helo_required": "yes"}).status_code == 404
    assert Client().get(URL).status_code in (302, 404)  # anonymous: to the login page
    assert (postfix.Path(settings.POSTFIX_CONFIG_DIR) / "main.cf").read_text(encoding="utf-8") == main_cf


def test_a_hand_edit_postconf_warns_about_is_shown_not_a_500(
    personas: Any, login: Any, stack: Any, postfix_restored: Any
) -> None:
    main_cf = postfix_restored.config_path("main.cf")
    main_cf.write_text(main_cf.read_text(encoding="utf-8") + "mailadmin_no_such_parameter = 1\n")
    page = login(personas.admin).get(URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="hand-edits"' in body  # pointed at the Postfix page, where it can be adopted or overwritten
    assert "smtpd_recipient_restrictions" in body  # the running lists are still shown
    postfix_page = login(personas.admin).get("/configuration/postfix/")
    assert postfix_page.status_code == 200 and "mailadmin_no_such_parameter" in postfix_page.content.decode()


def test_helo_checks_hold_on_port_25_not_for_users_who_log_in(
    personas: Any, login: Any, stack: Any, postfix_restored: Any
) -> None:
    import os

    from tests.conftest import PASSWORD

    _apply(login(personas.admin), {"v-smtpd_helo_restrictions": "reject_non_fqdn_helo_hostname"})
    with _smtp() as smtp:
        smtp.ehlo("laptop")
        smtp.mail("probe@example.com")
        code, reply = smtp.rcpt("ursula@a.test")
        assert code == 504 and b"Helo command rejected" in reply
    with smtplib.SMTP(settings.SMTP_HOST, int(os.environ["SUBMISSION_PORT"]), timeout=15) as smtp:
        smtp.ehlo("laptop")
        smtp.login("ursula", PASSWORD)
        smtp.mail("ursula@a.test")
        code, reply = smtp.rcpt("ursula@a.test")
        assert code == 250, reply
