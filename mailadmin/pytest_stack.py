"""pytest plugin: one private mail stack per test session (`-p mailadmin.pytest_stack`, set in pyproject).

The stack must be up before Django reads its settings (pytest-django does that while loading the initial
conftests), so this hooks in as a wrapper around that step and exports the stack's addresses as the
environment the settings read. `--no-stack` skips it (for quick runs of pure unit tests).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_STATE: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-stack", action="store_true", help="do not start the private mail stack")
    parser.addoption("--keep-stack", action="store_true", help="leave the stack's state dir for debugging")


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> Generator[None, None, None]:
    if not early_config.known_args_namespace.no_stack and "stack" not in _STATE:
        from mailadmin.stack import Stack, StackConfig

        root = Path(tempfile.mkdtemp(prefix="mailadmin-test-"))
        root.chmod(0o755)  # the daemons' own users (postfix, cyrus, postgres) must reach their dirs
        (root / "var" / "static").mkdir(parents=True)
        stack = Stack(StackConfig(state_dir=root / "stack", ports="auto"))
        env = stack.start()
        _STATE.update(stack=stack, root=root)
        os.environ.update(env)
        os.environ.update(
            {
                "MAILADMIN_IGNORE_STACK_ENV": "1",
                "MAILADMIN_VAR_DIR": str(root / "var"),
                "MAILADMIN_TLS": "0",
                "MAILADMIN_JOBS_EAGER": "0",
                "MAILADMIN_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
                "MAILADMIN_MANIFEST_STATIC": "0",
            }
        )
    return (yield)


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = _STATE.pop("stack", None)
    root = _STATE.pop("root", None)
    if stack is not None:
        stack.stop()
    if root is not None and not config.getoption("--keep-stack", default=False):
        shutil.rmtree(root, ignore_errors=True)


def session_stack() -> Any:
    """The running stack of this session, or None with --no-stack."""
    return _STATE.get("stack")
