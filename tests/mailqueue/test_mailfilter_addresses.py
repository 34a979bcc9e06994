"""The filter's fast path for SMTP addresses answers exactly what aiosmtpd's own parser answers."""

from __future__ import annotations

import pytest
from aiosmtpd.smtp import SMTP

from mailqueue.mailfilter.server import FilterSMTP


@pytest.mark.parametrize(
    "arg",
    [
        "<user@example.com>",
        "<user@example.com> SIZE=1234 BODY=8BITMIME",
        "<>",
        "<> SIZE=10",
        "  <first.last+tag@sub.example.org>",
        "<postmaster>",
        '<"quoted local"@example.com>',
        "<@relay.example,@other.example:user@example.com>",
        "<a\\@b@example.com>",
        "user@example.com",
        "<user@example.com",
        "",
        "<user@@example.com>",
        "<üser@example.com>",
        "<user@exa mple.com>",
        "<user@example.com>>",
    ],
)
def test_fast_path_agrees_with_aiosmtpd(arg: str) -> None:
    fast = FilterSMTP(handler=None)
    slow = SMTP(handler=None)
    assert fast._getaddr(arg) == slow._getaddr(arg)
