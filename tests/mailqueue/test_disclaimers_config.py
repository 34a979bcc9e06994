"""The Postfix side of the filter as rendered (the e2e tests prove that Postfix runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailadmin.configfiles import values as v
from mailadmin.configfiles.postfix import ContentFilter, PostfixParams, render_main_cf, render_master_cf


def _params(cf: ContentFilter | None) -> PostfixParams:
    return PostfixParams(
        config_dir=Path("/e"),
        queue_dir=Path("/q"),
        data_dir=Path("/d"),
        log_file=Path("/l/maillog"),
        myhostname="mx.x.test",
        mailbox_domain="mailbox.internal",
        relay_host="127.0.0.1",
        relay_port=1025,
        lmtp_host="127.0.0.1",
        lmtp_port=1024,
        smtp_port=1026,
        content_filter=cf,
    )


def test_filter_and_reinjection_rendered() -> None:
    p = _params(ContentFilter(filter_port=10030, reinject_port=10031))
    main = render_main_cf(p)
    assert "content_filter = mailfilter:[127.0.0.1]:10030\n" in main
    assert "receive_override_options = no_address_mappings\n" in main
    master = render_master_cf(p)
    reinject = master[master.index("127.0.0.1:10031") :]
    assert "-o content_filter=\n" in reinject  # no loop
    assert "-o smtpd_recipient_restrictions=permit_mynetworks,reject" in reinject
    assert "no_address_mappings" not in reinject  # the aliases expand here
    assert master.index("mailfilter ") < master.index("127.0.0.1:10031")


def test_no_filter_no_trace() -> None:
    p = _params(None)
    assert "content_filter" not in render_main_cf(p) + render_master_cf(p)
    assert "receive_override_options" not in render_main_cf(p)


@pytest.mark.parametrize("port", [0, 70000, "10031\n-o x=y"])
def test_bad_ports_refused(port: object) -> None:
    with pytest.raises(v.ConfigValueError):
        render_master_cf(_params(ContentFilter(filter_port=10030, reinject_port=port)))  # type: ignore[arg-type]
