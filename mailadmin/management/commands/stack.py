"""`manage.py stack start|stop|status|env`: the private mail stack for development (see mailadmin/stack)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailadmin.stack import Stack, StackConfig, StackError, render_env, write_env_file


class Command(BaseCommand):
    help = "Start, stop or inspect the private OpenLDAP/Postfix/Cyrus/saslauthd/Redis/PostgreSQL stack."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status", "env"])
        parser.add_argument("--dir", type=Path, default=None, help="state dir (default: VAR_DIR/stack)")
        parser.add_argument(
            "--ports", choices=["default", "auto"], default="default", help="fixed ports or free ones (auto)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        state_dir = options["dir"] or Path(settings.VAR_DIR) / "stack"
        stack = Stack(StackConfig(state_dir=state_dir, ports=options["ports"]))
        try:
            getattr(self, f"_{options['action']}")(stack)
        except StackError as exc:
            raise CommandError(str(exc)) from exc

    def _start(self, stack: Stack) -> None:
        began = time.monotonic()
        env = stack.start()
        # settings.py reads VAR_DIR/stack.env, so manage.py finds the daemons without further setup.
        shared = Path(settings.VAR_DIR) / "stack.env"
        write_env_file(shared, env)
        self.stdout.write(
            self.style.SUCCESS(f"stack up in {time.monotonic() - began:.1f} s: {stack.layout.root}")
        )
        for name, seconds in stack.timings.items():
            self.stdout.write(f"  {name:<10} {seconds:5.2f} s")
        self.stdout.write(f"env: {stack.layout.env_file} and {shared}")

    def _stop(self, stack: Stack) -> None:
        began = time.monotonic()
        stack.stop()
        self.stdout.write(self.style.SUCCESS(f"stack stopped in {time.monotonic() - began:.1f} s"))

    def _status(self, stack: Stack) -> None:
        states = stack.status()
        for name, state in states.items():
            style = self.style.SUCCESS if state.up else self.style.ERROR
            pid = state.pid if state.pid is not None else "-"
            self.stdout.write(
                f"{name:<10} {style('up  ' if state.up else 'down')} pid={pid:<8} {state.address}"
            )
        down = [name for name, state in states.items() if not state.up]
        if down:
            raise CommandError(f"down: {', '.join(down)}")

    def _env(self, stack: Stack) -> None:
        self.stdout.write(render_env(stack.env()), ending="")
