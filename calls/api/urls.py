"""`/api/calls/…` (README "The HTTP API"). One path per action, so an unknown action is a plain 404."""

from django.urls import path

from calls.api.stats import StatsView
from calls.api.views import CallActionView, CallDetailView, CallListView, MemberActionView
from calls.vocabulary import CallAction, MemberAction

urlpatterns = [
    path("stats/", StatsView.as_view(), name="api-stats"),
    path("calls/", CallListView.as_view(), name="api-calls"),
    path("calls/<int:call_id>/", CallDetailView.as_view(), name="api-call"),
    *(
        path(f"calls/<int:call_id>/{action}/", CallActionView.as_view(), {"action": action}, name=f"api-call-{action}")
        for action in CallAction.values
    ),
    *(
        path(
            f"calls/<int:call_id>/members/<int:member_id>/{action}/", MemberActionView.as_view(), {"action": action},
            name=f"api-member-{action}",
        )
        for action in MemberAction.values
    ),
]
