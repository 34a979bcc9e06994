"""The production settings pass Django's deployment checks at WARNING level."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check_deploy(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """`manage.py check --deploy` in a fresh environment: none of the test session's MAILADMIN_* values."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILADMIN_", "DJANGO_"))}
    env.update({"MAILADMIN_VAR_DIR": str(tmp_path), "MAILADMIN_IGNORE_STACK_ENV": "1", **settings})
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env=env,
    )


def test_check_deploy_passes_with_production_settings(tmp_path: Path) -> None:
    result = check_deploy(
        tmp_path, MAILADMIN_SECRET_KEY=secrets.token_urlsafe(50), MAILADMIN_ALLOWED_HOSTS="mail.example.com"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_make_run_shape_is_not_production(tmp_path: Path) -> None:
    # MAILADMIN_TLS=0 (plain HTTP on loopback) must show up as deployment warnings, not pass silently.
    result = check_deploy(tmp_path, MAILADMIN_TLS="0")
    assert result.returncode != 0 and "SESSION_COOKIE_SECURE" in result.stdout + result.stderr
