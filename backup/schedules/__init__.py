"""Scheduled tasks (TLS-07): django-celery-beat rows that start console jobs."""
