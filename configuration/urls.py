"""URLs of the Configuration menu: each view module keeps its own `urlpatterns`; this file joins them
(the fixed paths first, so `help/` is not taken for a service). Each service also has a URL name of its own
(`config_postfix`, ...) for the menu."""

from __future__ import annotations

from django.urls import path

from configuration.views import checks, history, overview, service, uce

MENU_SERVICES = ("postfix", "cyrus", "slapd", "nginx", "proftpd", "amavis")

urlpatterns = [
    *overview.urlpatterns,
    *checks.urlpatterns,  # uce/checks/...: before `<slug:service>/` takes "uce" for a service
    *(
        path(f"{name}/", service.service_form, {"service": name}, name=f"config_{name}")
        for name in MENU_SERVICES
    ),
    *history.urlpatterns,
    *uce.urlpatterns,
    *service.urlpatterns,
]
