"""`manage.py mailfilter`: the disclaimer content filter (DLV-03), see mailqueue/mailfilter.

Runs in the foreground; the stack starts it detached with its own environment (mailadmin/stack/mailfilter.py).
`--export` instead writes the disclaimer file the filter reads from the console's database and exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any

import uvloop
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailqueue.mailfilter.choose import Chooser
from mailqueue.mailfilter.server import FilterHandler, Reinject, serve
from mailqueue.mailfilter.snapshot import SnapshotReader, snapshot_path


def _port(name: str, default: str = "") -> int:
    raw = os.environ.get(name, default)
    try:
        port = int(raw)
    except ValueError as exc:
        raise CommandError(f"{name} must be a port number, not {raw!r}") from exc
    if not 0 < port < 65536:
        raise CommandError(f"{name} must be a port number, not {raw!r}")
    return port


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a daemon: start fast, the console runs the checks
    help = "Run the disclaimer content filter (Postfix content_filter), or --export the disclaimer file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--export", action="store_true", help="write the disclaimer file and exit")
        parser.add_argument("--port", type=int, default=None, help="listen port (MAILFILTER_PORT)")
        parser.add_argument(
            "--reinject", type=int, default=None, help="re-injection port (MAILFILTER_REINJECT_PORT)"
        )
        parser.add_argument("--pidfile", type=Path, default=None, help="write the PID here once listening")
        parser.add_argument("--size-limit", type=int, default=50 * 1024 * 1024 + 65536)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["export"]:
            from mailqueue.disclaimers.services import publish

            path = publish()
            self.stdout.write(f"disclaimers written to {path}")
            return
        port = options["port"] or _port("MAILFILTER_PORT")
        reinject = options["reinject"] or _port("MAILFILTER_REINJECT_PORT")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        # aiosmtpd logs every connection and command at INFO; Postfix logs each transaction already, and the
        # formatting cost is measurable per message (bench/filter.py)
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        reader = SnapshotReader(snapshot_path())
        chooser = Chooser(reader, os.environ.get("MAILADMIN_MAILBOX_DOMAIN", ""))
        handler = FilterHandler(chooser, Reinject("127.0.0.1", reinject))
        pidfile: Path | None = options["pidfile"]

        def ready() -> None:
            if pidfile is not None:
                pidfile.write_text(f"{os.getpid()}\n", encoding="ascii")
            logging.getLogger("mailadmin.mailfilter").info(
                "listening on 127.0.0.1:%s, re-injecting to 127.0.0.1:%s, disclaimers from %s",
                port,
                reinject,
                reader.path,
            )

        async def main() -> None:
            loop = asyncio.get_running_loop()
            task = asyncio.current_task()
            for sig in (signal.SIGTERM, signal.SIGINT):
                if task is not None:
                    loop.add_signal_handler(sig, task.cancel)
            await serve(handler, "127.0.0.1", port, data_size_limit=options["size_limit"], ready=ready)

        try:
            uvloop.run(main())
        except asyncio.CancelledError:
            pass
        finally:
            if pidfile is not None:
                pidfile.unlink(missing_ok=True)
