"""What the change flow needs from a service (Postfix, Cyrus, slapd, nginx, ProFTPD): the stack's own daemon
classes (mailadmin/stack) implement it, so the menu and the stack's start share one renderer."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class Managed(Protocol):
    name: str

    def render(self, settings: Mapping[str, str]) -> dict[str, str]:
        """Every file the menu manages for this service, rendered from the stored `settings`
        (file name -> full text, exactly what the stack's start writes)."""
        ...

    def config_path(self, file: str) -> Path:
        """Where `file` of `render` lives."""
        ...

    def validate_dir(self, staging: Path) -> None:
        """Let the daemon check the files `render` wrote into `staging`; StackError with its words if not."""
        ...

    def reload(self) -> None:
        """Make the running daemon take the new files (reload, or restart where it must), and wait for it."""
        ...

    def smoke(self) -> str:
        """Prove the running service works (a real login, EHLO, bind, ...); a line saying what was proved.
        Raises on failure, and the flow then puts the previous version back."""
        ...

    def allowed_dirs(self) -> list[str]:
        """Directories a PATH or table parameter may point into."""
        ...


class Inspectable(Protocol):
    """Optional: services that can say their daemon's defaults and running values per parameter."""

    def defaults(self) -> dict[str, str]: ...

    def running(self) -> dict[str, str]: ...


class Installer(Protocol):
    """Optional: a service whose change is not a file rename (slapd: modify operations on cn=config)."""

    def install(self, old: Mapping[str, str], new: Mapping[str, str], files: Mapping[str, str]) -> None: ...
