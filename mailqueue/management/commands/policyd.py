"""`manage.py policyd`: the SMTP relay rules as a Postfix policy service (mailqueue/relayrules/policyd.py).

manage.py policyd --port 10040                 serve in the foreground
manage.py policyd --port 10040 --daemon --pidfile F   detach (the stack starts it so)
manage.py policyd --publish                    publish the database's rules to Redis again and exit
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailqueue.relayrules import policyd, store


def _rules_from_db() -> list[Any]:
    from mailqueue.relayrules.models import RelayRule

    return [r.to_rule() for r in RelayRule.objects.all()]


class Command(BaseCommand):
    help = "Serve the SMTP relay rules to Postfix (check_policy_service)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("POLICYD_PORT", "10040")))
        parser.add_argument("--daemon", action="store_true", help="detach once listening")
        parser.add_argument("--pidfile", type=Path)
        parser.add_argument(
            "--no-db",
            action="store_true",
            help="never read the rules from the database (only what the console published to Redis)",
        )
        parser.add_argument("--publish", action="store_true", help="publish the database's rules and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.REDIS_URL:
            raise CommandError("REDIS_URL is not set: the policy service reads the rules from Redis")
        if options["publish"]:
            version = store.publish(_rules_from_db())
            self.stdout.write(f"published relay rules, version {version}")
            return
        if options["host"] not in {"127.0.0.1", "::1", "localhost"}:
            raise CommandError("the policy service listens on loopback only")
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s policyd[%(process)d] %(levelname)s %(message)s"))
        logger = logging.getLogger("mailadmin.policyd")
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
        load_db = None if options["no_db"] else _rules_from_db
        if options["daemon"]:
            self._detach(options["pidfile"])
        elif options["pidfile"]:
            options["pidfile"].write_text(f"{os.getpid()}\n", encoding="ascii")
        pidfile: Path | None = options["pidfile"]
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            asyncio.run(policyd.serve(options["host"], options["port"], settings.REDIS_URL, load_db=load_db))
        finally:
            with contextlib.suppress(OSError):
                if pidfile is not None and pidfile.read_text(encoding="ascii").strip() == str(os.getpid()):
                    pidfile.unlink()

    def _detach(self, pidfile: Path | None) -> None:
        """Double fork: the caller gets its exit status at once, the server is nobody's child."""
        if pidfile is None:
            raise CommandError("--daemon needs --pidfile")
        if os.fork() != 0:
            os._exit(0)
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.close(devnull)
        pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")
