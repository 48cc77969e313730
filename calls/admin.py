from django import forms
from django.contrib import admin
from django.db.models import Prefetch, Q
from django.utils import timezone

from calls.core.vocabulary import MemberRole
from calls.models import Action, Call, CallEvent, Disposition, Member, PhloApp, Queue


class PhloAppForm(forms.ModelForm):
    """The auth token is write-only: never rendered back, replaced only when a new one is typed."""

    auth_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored secretly and never shown. Leave empty to keep the current token.",
    )

    class Meta:
        model = PhloApp
        fields = ["name", "phlo_id", "node_id", "auth_id", "auth_token", "is_default", "record_calls", "caller_id"]

    def clean_auth_token(self):
        token = self.cleaned_data["auth_token"]
        if not token:
            if not self.instance.pk:
                raise forms.ValidationError("A new PHLO app needs its auth token.")
            return self.instance.auth_token
        return token


@admin.register(PhloApp)
class PhloAppAdmin(admin.ModelAdmin):
    form = PhloAppForm
    list_display = ["name", "phlo_id", "node_id", "auth_id", "is_default", "record_calls", "callback_path"]
    list_filter = ["is_default", "record_calls"]
    search_fields = ["name", "phlo_id", "node_id", "auth_id"]


class QueueForm(forms.ModelForm):
    numbers = forms.CharField(
        required=False, help_text="The numbers customers dial to reach this queue, comma-separated (E.164).",
        widget=forms.TextInput(attrs={"size": 60}),
    )

    class Meta:
        model = Queue
        fields = ["name", "numbers", "phlo_app", "priority", "service_level_seconds", "overflow_to",
                  "overflow_after_seconds", "is_default"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["numbers"] = ", ".join(self.instance.numbers)

    def clean_numbers(self):
        return [number.strip() for number in self.cleaned_data["numbers"].split(",") if number.strip()]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    """Queues (docs/routing.md, "Queues"); agents' skills are on each agent's page."""

    form = QueueForm
    list_display = ["name", "shown_numbers", "phlo_app", "priority", "service_level_seconds", "overflow_to",
                    "overflow_after_seconds", "is_default"]
    list_editable = ["priority"]
    search_fields = ["name"]

    @admin.display(description="numbers")
    def shown_numbers(self, queue):
        return ", ".join(queue.numbers)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MemberInline(ReadOnlyInline):
    model = Member
    fields = ["address", "role", "state", "transfer_role", "muted", "coach_mode", "agent", "member_id", "joined_at",
              "left_at"]
    readonly_fields = fields


class CallEventInline(ReadOnlyInline):
    model = CallEvent
    fields = ["received_at", "event_name", "sequence", "event_timestamp", "member", "outcome", "params"]
    readonly_fields = fields
    ordering = ["received_at", "id"]


class ActionInline(ReadOnlyInline):
    model = Action
    fields = ["created_at", "actor", "action", "member", "ok", "http_status", "upstream_status", "error"]
    readonly_fields = fields


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is what happened: operators read it, nobody adds, edits or deletes it (not even
    in bulk: without delete permission the admin offers no "Delete selected")."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "customer", "agents", "started_at", "duration", "status", "outcome", "disposition", "phlo_app",
    ]
    list_filter = ["status", "outcome", "direction", "disposition", "was_transferred", "phlo_app", "started_at"]
    search_fields = ["mpc_uuid", "run_id", "members__address", "members__agent__name", "notes"]
    date_hierarchy = "started_at"
    list_select_related = ["phlo_app", "disposition"]
    inlines = [MemberInline, CallEventInline, ActionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(
            Prefetch("members", queryset=Member.objects.select_related("agent__user").order_by("created_at", "id"))
        )

    @admin.display(description="customer")
    def customer(self, call: Call) -> str:
        return ", ".join(_unique(m.address for m in call.members.all() if m.role == MemberRole.CUSTOMER)) or "—"

    @admin.display(description="agents")
    def agents(self, call: Call) -> str:
        agents = [m for m in call.members.all() if m.role == MemberRole.AGENT]
        return ", ".join(_unique(m.agent.display_name if m.agent else m.address for m in agents)) or "—"

    @admin.display(description="duration", ordering="ended_at")
    def duration(self, call: Call) -> str:
        end = call.ended_at or timezone.now()
        seconds = max(0, int((end - call.started_at).total_seconds()))
        text = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}".removeprefix("0:")
        return text if call.ended_at else f"{text} (live)"


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))


@admin.register(Disposition)
class DispositionAdmin(admin.ModelAdmin):
    """Wrap-up codes (docs/history.md): agents pick from the active ones, in this order. One in use
    cannot be deleted (the calls keep it); retire it instead."""

    list_display = ["name", "active", "order"]
    list_editable = ["active", "order"]
    list_filter = ["active"]
    search_fields = ["name"]
    ordering = ["order", "name"]


@admin.register(CallEvent)
class CallEventAdmin(ReadOnlyAdmin):
    """The callback log: every callback Plivo sent, as received, with what became of it
    (docs/operations.md, "Reading the callback log")."""

    list_display = ["received_at", "phlo_app", "family", "event_name", "outcome", "reason", "call", "sequence"]
    list_filter = ["outcome", "family", "phlo_app", "received_at", "event_name"]
    date_hierarchy = "received_at"
    search_fields = ["call__mpc_uuid", "member__address", "member__member_id", "event_name"]
    list_select_related = ["call", "phlo_app"]
    readonly_fields = ["phlo_app", "call", "member", "family", "event_name", "outcome", "reason", "sequence",
                       "event_timestamp", "received_at", "dedupe_key", "params"]

    def get_search_results(self, request, queryset, search_term):
        """Callbacks that matched no call or member are found by what they say: their MPC UUID,
        member ID or a participant's address, as sent."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            said = Q()
            for param in SEARCHED_PARAMS:
                said |= Q(**{f"params__{param}": term})
            found |= queryset.filter(said)
        return found, may_have_duplicates


# The callback parameters an operator searches the log by (besides the call and member they matched).
SEARCHED_PARAMS = ("MPCUUID", "MemberID", "ParticipantCallFrom", "ParticipantCallTo", "MemberAddress", "CallUUID",
                   "From", "To")


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "actor", "call", "ok", "http_status", "upstream_status", "duration_ms"]
    list_filter = ["action", "ok", "http_status"]
    search_fields = ["actor__username", "api_id", "error", "call__mpc_uuid"]
    list_select_related = ["actor", "call"]
