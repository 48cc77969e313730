from django import forms
from django.contrib import admin

from calls.models import Action, Call, CallEvent, Disposition, Member, PhloApp


class PhloAppForm(forms.ModelForm):
    """The auth token is write-only: never rendered back, replaced only when a new one is typed."""

    auth_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored secretly and never shown. Leave empty to keep the current token.",
    )

    class Meta:
        model = PhloApp
        fields = ["name", "phlo_id", "node_id", "auth_id", "auth_token", "is_default"]

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
    list_display = ["name", "phlo_id", "node_id", "auth_id", "is_default", "callback_path"]
    list_filter = ["is_default"]
    search_fields = ["name", "phlo_id", "node_id", "auth_id"]


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
    fields = ["address", "role", "state", "transfer_role", "agent", "member_id", "joined_at", "left_at"]
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
    """History is what happened: operators read it, nobody edits it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "phlo_app", "mpc_uuid", "started_at", "ended_at", "outcome", "disposition",
                    "version"]
    list_filter = ["status", "outcome", "disposition", "phlo_app", "started_at"]
    search_fields = ["mpc_uuid", "run_id", "members__address", "members__agent__name"]
    date_hierarchy = "started_at"
    list_select_related = ["phlo_app", "disposition"]
    inlines = [MemberInline, CallEventInline, ActionInline]


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
    list_display = ["received_at", "event_name", "call", "sequence", "outcome", "phlo_app"]
    list_filter = ["event_name", "outcome", "phlo_app"]
    search_fields = ["call__mpc_uuid", "event_name", "dedupe_key"]
    list_select_related = ["call", "phlo_app"]


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "actor", "call", "ok", "http_status", "upstream_status", "duration_ms"]
    list_filter = ["action", "ok", "http_status"]
    search_fields = ["actor__username", "api_id", "error", "call__mpc_uuid"]
    list_select_related = ["actor", "call"]
