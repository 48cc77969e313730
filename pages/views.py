"""The pages: sign-in, the agent desk and the supervisor wall (README "Pages").

The pages are shells: they carry the signed-in person and the first snapshot, and the ES
modules in static/pages/js keep them live over the dashboard socket. Nothing secret is put
into a page: the snapshot has the same shapes the API and the socket send.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from agents.models import AgentStatus
from agents.selectors import agent_names
from agents.serialize import me_to_dict
from agents.status import agent_signed_out
from agents.viewers import Person, viewer_for
from calls.core import vocabulary
from calls.core.errors import CallError
from calls.dashboards import snapshot_for
from calls.history.reports import INTERVALS
from calls.history.timeline import timeline_for
from calls.models import Disposition, Queue
from pages.forms import ThrottledAuthenticationForm, refusal_status
from phlo.addresses import ADDRESS_HELP, ADDRESS_PATTERN


class LoginView(auth_views.LoginView):
    template_name = "pages/login.html"
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = refusal_status(form) or response.status_code
        return response


class LogoutView(auth_views.LogoutView):
    """Signing out chooses offline (docs/routing.md, "Statuses"): nobody routes calls to a desk
    that is closed; an agent on a call becomes offline when it is over."""

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            agent = viewer_for(request.user).agent
            if agent is not None:
                agent_signed_out(agent)
        return super().post(request, *args, **kwargs)


def _no_desk(request, viewer: Person, *, status: int = 200):
    return render(request, "pages/no_agent.html", {"viewer": viewer}, status=status)


def _vocabulary() -> dict:
    return {**vocabulary.for_pages(), "agent_statuses": dict(AgentStatus.choices)}


def _page_data(viewer: Person, page: str) -> dict:
    return {
        "page": page,
        "me": me_to_dict(viewer.agent) if viewer.agent else None,
        "is_supervisor": viewer.is_supervisor,
        "snapshot": snapshot_for(viewer).body,
        "vocabulary": _vocabulary(),
        "urls": {"socket": "/ws/dashboard/", "api": "/api/", "login": "/login/"},
        # The address rule of phlo/addresses.py, so a typed number is checked as it is typed.
        "rules": {"address_pattern": ADDRESS_PATTERN, "address_help": ADDRESS_HELP},
        "wrap_up": {"disposition_required": settings.DISPOSITION_REQUIRED},  # static/pages/js/wrapup.js
    }


@never_cache
def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    viewer = viewer_for(request.user)
    if viewer.is_supervisor:
        return redirect("supervisor")
    if viewer.agent is not None:
        return redirect("agent")
    return _no_desk(request, viewer)


@never_cache
@login_required
def agent_desk(request):
    viewer = viewer_for(request.user)
    if viewer.agent is None:
        if viewer.is_supervisor:  # a superuser without a phone of their own watches the wall
            return redirect("supervisor")
        return _no_desk(request, viewer, status=403)
    return render(request, "pages/agent.html", {"viewer": viewer, "page_data": _page_data(viewer, "agent")})


@never_cache
@login_required
def supervisor_wall(request):
    viewer = viewer_for(request.user)
    if not viewer.is_supervisor:
        if viewer.agent is not None:
            return redirect("agent")
        return _no_desk(request, viewer, status=403)
    return render(request, "pages/supervisor.html", {"viewer": viewer, "page_data": _page_data(viewer, "supervisor")})


def favicon(request):
    """Browsers (and the admin's pages) ask for /favicon.ico by themselves; it lives with the static files."""
    return redirect(static("pages/img/favicon.ico"), permanent=True)


# --- after the call (docs/history.md) -------------------------------------------------------------------


def _history_data(viewer: Person, page: str) -> dict:
    """What the history pages' scripts need: the words, everyone's names, every disposition."""
    return {
        "page": page,
        "me": me_to_dict(viewer.agent) if viewer.agent else None,
        "is_supervisor": viewer.is_supervisor,
        "vocabulary": _vocabulary(),
        "agents": agent_names(),
        "dispositions": list(Disposition.objects.values("id", "name", "active")),
        "queues": list(Queue.objects.order_by("name").values_list("name", flat=True)),
        "urls": {"api": "/api/", "export": "/api/calls/export.csv", "history": "/history/"},
        # Call back (README, "Pages") offers only numbers the desk can dial: phlo/addresses.py's rule.
        "rules": {"address_pattern": ADDRESS_PATTERN, "address_help": ADDRESS_HELP},
    }


def _history_viewer(request) -> Person:
    """Anyone with a desk, or who sees every call; others have no calls to look back on."""
    viewer = viewer_for(request.user)
    if viewer.agent is None and not viewer.is_supervisor:
        raise PermissionDenied
    return viewer


@never_cache
@login_required
def call_history(request):
    viewer = _history_viewer(request)
    return render(request, "pages/history.html", {"viewer": viewer, "page_data": _history_data(viewer, "history")})


@never_cache
@login_required
def call_timeline(request, call_id: int):
    viewer = _history_viewer(request)
    try:
        timeline = timeline_for(viewer, call_id)
    except CallError as refused:
        if refused.http_status == 404:
            raise Http404(refused.detail) from None
        raise PermissionDenied(refused.detail) from None
    return render(request, "pages/timeline.html", {
        "viewer": viewer, "timeline": timeline, "operator": request.user.is_staff,
        "page_data": {"page": "timeline", "vocabulary": _vocabulary()},
    })


# --- reports (docs/reports.md) ------------------------------------------------------------------------


@never_cache
@login_required
def reports_page(request):
    """The reports, for supervisors: agents go to their desk, as from the wall."""
    viewer = viewer_for(request.user)
    if not viewer.is_supervisor:
        if viewer.agent is not None:
            return redirect("agent")
        return _no_desk(request, viewer, status=403)
    return render(request, "pages/reports.html", {"viewer": viewer, "page_data": {
        "page": "reports",
        "is_supervisor": True,
        "vocabulary": _vocabulary(),
        "intervals": list(INTERVALS),
        "queues": list(Queue.objects.order_by("name").values_list("name", flat=True)),
        "agents": agent_names(),
        "server_tz": settings.TIME_ZONE,
        "urls": {"report": "/api/reports/intervals/", "history": "/history/"},
    }})
