"""The content filter's tests share the one stack: each module switches the filter on (or leaves it off)
through the change flow and puts the stored values back at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mailadmin.configfiles import store
from tests.contentfilter import cftool


@pytest.fixture(scope="module")
def filter_on(stack: Any) -> Iterator[Any]:
    """amavis in Postfix's path for this module (virus quarantined, spam tagged and passed)."""
    before = store.values(stack.layout.menu, "amavis")
    cftool.apply(stack, {"enabled": "yes"})
    yield stack.service("amavis")
    cftool.restore(stack, before)
