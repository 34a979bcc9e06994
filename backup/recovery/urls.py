from __future__ import annotations

from django.urls import path

from backup.recovery import views

urlpatterns = [
    path("", views.recovery, name="cyrus_recovery"),
    path("<uuid:job_id>/", views.recovery_result, name="cyrus_recovery_result"),
]
