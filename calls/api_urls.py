"""`/api/calls/…` (CONTRACT §4). One path per action, so an unknown action is a plain 404."""

from django.urls import path

from calls.api import CallActionView, CallDetailView, CallListView, MemberActionView
from calls.state_machine import CALL_ACTIONS, MEMBER_ACTIONS

urlpatterns = [
    path("calls/", CallListView.as_view(), name="api-calls"),
    path("calls/<int:call_id>/", CallDetailView.as_view(), name="api-call"),
    *(
        path(f"calls/<int:call_id>/{action}/", CallActionView.as_view(), {"action": action}, name=f"api-call-{action}")
        for action in CALL_ACTIONS
    ),
    *(
        path(
            f"calls/<int:call_id>/members/<int:member_id>/{action}/", MemberActionView.as_view(), {"action": action},
            name=f"api-member-{action}",
        )
        for action in MEMBER_ACTIONS
    ),
]
