from __future__ import annotations

from django.urls import include, path
from django.views.i18n import set_language

from mailadmin.jobs import views as jobs
from mailadmin.permissions import Level, guard
from mailadmin.views import audit, auth, system

urlpatterns = [
    path("", system.dashboard, name="dashboard"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("account/password/", auth.password_change, name="password_change"),
    path("system/preflight/", system.preflight_view, name="preflight"),
    path("system/languages/", system.languages, name="languages"),
    path("i18n/setlang/", guard(Level.PUBLIC)(set_language), name="set_language"),
    path("tools/audit/", audit.audit_list, name="audit_list"),
    path("tools/jobs/", jobs.job_list, name="job_list"),
    path("tools/jobs/<uuid:job_id>/", jobs.job_detail, name="job_detail"),
    path("tools/jobs/<uuid:job_id>/cancel/", jobs.job_cancel_view, name="job_cancel"),
    path("tools/check/", jobs.checkstack, name="checkstack"),
    path("tools/archives/", include("migration.archives.urls")),
    path("tools/import/", include("migration.urls")),
    path("accounts/", include("accounts.urls")),
    path("aliases/", include("aliases.urls")),
    path("folders/", include("folders.urls")),
    path("queue/", include("mailqueue.urls")),
    path("configuration/", include("configuration.urls")),
    path("tools/backup/", include("backup.urls")),
    path("<slug:section>/<slug:slug>/", system.placeholder, name="placeholder"),
]
