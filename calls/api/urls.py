"""`/api/calls/…` (README "The HTTP API"). One path per action, so an unknown action is a plain 404."""

from django.urls import path

from calls.api.history import CallExportView, DispositionListView, WrapUpView
from calls.api.views import CallActionView, CallDetailView, CallListView, MemberActionView
from calls.vocabulary import CallAction, MemberAction

urlpatterns = [
    path("calls/", CallListView.as_view(), name="api-calls"),
    path("calls/export.csv", CallExportView.as_view(), name="api-calls-export"),
    path("calls/<int:call_id>/wrap-up/", WrapUpView.as_view(), name="api-call-wrap-up"),
    path("dispositions/", DispositionListView.as_view(), name="api-dispositions"),
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
