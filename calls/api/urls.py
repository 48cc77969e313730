"""`/api/calls/…` (README "The HTTP API"). One path per action, so an unknown action is a plain 404."""

from django.urls import path

import conventions.ids  # noqa: F401 - registers <id:…>, the ids a database holds (404 beyond)
from calls.api.after_call import CallExportView, DispositionListView, WrapUpView
from calls.api.reports import IntervalReportView
from calls.api.stats import QueueListView, StatsView
from calls.api.views import (
    CallActionView,
    CallDetailView,
    CallListView,
    CompleteTransferView,
    MemberActionView,
    MonitorStopView,
    MonitorView,
    MuteView,
    RecordingView,
)
from calls.core.vocabulary import MUTE_ACTIONS, RECORDING_ACTIONS, CallAction, MemberAction, TransferAction

urlpatterns = [
    path("stats/", StatsView.as_view(), name="api-stats"),
    path("reports/intervals/", IntervalReportView.as_view(), name="api-reports-intervals"),
    path("queues/", QueueListView.as_view(), name="api-queues"),
    path("calls/", CallListView.as_view(), name="api-calls"),
    path("calls/export.csv", CallExportView.as_view(), name="api-calls-export"),
    path("calls/<id:call_id>/wrap-up/", WrapUpView.as_view(), name="api-call-wrap-up"),
    path("dispositions/", DispositionListView.as_view(), name="api-dispositions"),
    path("calls/<id:call_id>/", CallDetailView.as_view(), name="api-call"),
    *(
        path(f"calls/<id:call_id>/{action}/", CallActionView.as_view(), {"action": action}, name=f"api-call-{action}")
        for action in CallAction.values
    ),
    *(
        path(
            f"calls/<id:call_id>/members/<id:member_id>/{action}/", MemberActionView.as_view(), {"action": action},
            name=f"api-member-{action}",
        )
        for action in MemberAction.values
    ),
    path(f"calls/<id:call_id>/{TransferAction.COMPLETE}/", CompleteTransferView.as_view(),
         name="api-call-complete-transfer"),
    path("calls/<id:call_id>/monitor/", MonitorView.as_view(), name="api-call-monitor"),
    path("calls/<id:call_id>/monitor/stop/", MonitorStopView.as_view(), name="api-call-monitor-stop"),
    *(
        path(f"calls/<id:call_id>/members/<id:member_id>/{action}/", MuteView.as_view(), {"action": action},
             name=f"api-member-{action}")
        for action in MUTE_ACTIONS
    ),
    *(
        path(f"calls/<id:call_id>/recording/{action.recording_step}/", RecordingView.as_view(), {"action": action},
             name=f"api-call-{action}")
        for action in RECORDING_ACTIONS
    ),
]
