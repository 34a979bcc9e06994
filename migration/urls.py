from __future__ import annotations

from django.urls import path

from migration.views import runs, uploads

urlpatterns = [
    path("", uploads.import_index, name="import_index"),
    path("new/<slug:kind>/", uploads.import_new, name="import_new"),
    path("<uuid:run_id>/", runs.import_run, name="import_run"),
    path("<uuid:run_id>/confirm/", runs.import_confirm_view, name="import_confirm"),
    path("<uuid:run_id>/discard/", runs.import_discard_view, name="import_discard"),
    path("<uuid:run_id>/cancel/", runs.import_cancel_view, name="import_cancel"),
    path("<uuid:run_id>/report.csv", runs.import_report, name="import_report"),
]
