from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("schedules/", include("backup.schedules.urls")),
    path("recovery/", include("backup.recovery.urls")),
]
