from __future__ import annotations

from django.urls import include, path

from backup.views import catalogue, restore

urlpatterns = [
    path("", catalogue.backup_index, name="backup_index"),
    path("upload/", catalogue.backup_upload, name="backup_upload"),
    path("adopt/", catalogue.backup_adopt, name="backup_adopt"),
    path("retention/", catalogue.backup_retention, name="backup_retention"),
    path("<int:pk>/download/", catalogue.backup_download, name="backup_download"),
    path("<int:pk>/delete/", catalogue.backup_delete, name="backup_delete"),
    path("<int:pk>/restore/", restore.backup_restore, name="backup_restore"),
    path("schedules/", include("backup.schedules.urls")),
    path("recovery/", include("backup.recovery.urls")),
]
