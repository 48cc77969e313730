from django.urls import path

import conventions.ids  # noqa: F401 - registers <id:…>, the ids a database holds (404 beyond)
from pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("agent/", views.agent_desk, name="agent"),
    path("supervisor/", views.supervisor_wall, name="supervisor"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("history/", views.call_history, name="history"),
    path("history/<id:call_id>/", views.call_timeline, name="call-timeline"),
    path("reports/", views.reports_page, name="reports"),
]
