from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from agents.api import AgentDirectoryView, DeclineView, MeView, TokenView, WrapUpExtendView
from agents.socket_tickets import SocketTicketView

api_patterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    path("me/wrap-up/extend/", WrapUpExtendView.as_view(), name="api-me-wrap-up-extend"),
    path("me/decline/", DeclineView.as_view(), name="api-me-decline"),
    path("agents/", AgentDirectoryView.as_view(), name="api-agents"),
    path("ws-ticket/", SocketTicketView.as_view(), name="api-ws-ticket"),
    path("", include("calls.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file of its own: the page needs no inline
    # script, so the Content-Security-Policy can refuse them (fastpath/middleware.py).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("callbacks/", include("calls.intake.urls")),
    # /healthz, /readyz and /metrics are answered before the host check: contactcenter/probes.py
    path("", include("pages.urls")),
]

handler404 = "conventions.errors.not_found"
handler500 = "conventions.errors.server_error"
