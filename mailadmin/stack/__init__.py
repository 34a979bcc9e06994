"""A private OpenLDAP, saslauthd, Postfix, Cyrus IMAP, Redis and PostgreSQL for development and tests.

    from mailadmin.stack import Stack, StackConfig
    stack = Stack(StackConfig(state_dir=Path("var/stack"), ports="auto"))
    env = stack.start()      # the stack.env values
    stack.status()           # name -> ServiceState(up, pid, address, version)
    stack.stop()

Everything runs as root-started daemons on loopback ports, with its state (data, configs, logs, secrets) in
one directory that survives stop/start. See docs/deploy.md for running the console against system daemons.
"""

from __future__ import annotations

from mailadmin.stack.config import Ports, StackConfig
from mailadmin.stack.core import ServiceState, Stack, render_env, write_env_file
from mailadmin.stack.process import StackError

__all__ = ["Ports", "ServiceState", "Stack", "StackConfig", "StackError", "render_env", "write_env_file"]
