"""The Celery app. JSON only; tasks are thin (an id in, a service call), see mailadmin/jobs."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailadmin.settings")

app = Celery("mailadmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
