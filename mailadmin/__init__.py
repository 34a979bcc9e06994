"""mailadmin: a web console for an OpenLDAP + Postfix + Cyrus IMAP mail server."""

from __future__ import annotations

from mailadmin.celery import app as celery_app

__all__ = ["celery_app"]
