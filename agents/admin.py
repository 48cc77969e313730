from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db.models import Exists, OuterRef
from rest_framework.authtoken.models import Token, TokenProxy

from agents.credentials import revoke_api_access
from agents.models import Agent

User = get_user_model()

# API tokens are bearer credentials, and DRF's token admin lists every one in clear (and names
# each by its key). Operators revoke them from the people's lists instead (the action below);
# a new password revokes them too (agents/signals.py).
admin.site.unregister(TokenProxy)


def _revoke(modeladmin, request, user_ids) -> None:
    revoked = revoke_api_access(user_ids)
    modeladmin.message_user(
        request, f"{revoked} API token(s) revoked; their open dashboards were closed.", messages.SUCCESS
    )


@admin.action(description="Revoke API tokens and close open dashboards", permissions=["change"])
def revoke_agents_api_tokens(modeladmin, request, queryset):
    _revoke(modeladmin, request, queryset.values_list("user_id", flat=True))


@admin.action(description="Revoke API tokens and close open dashboards", permissions=["change"])
def revoke_users_api_tokens(modeladmin, request, queryset):
    _revoke(modeladmin, request, queryset.values_list("pk", flat=True))


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    actions = [revoke_users_api_tokens]


class AgentAdminForm(forms.ModelForm):
    """Create the login together with the agent; on edit, a new password is optional."""

    username = forms.CharField(max_length=150)
    password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="Required for a new agent; leave empty to keep the current password.",
    )

    class Meta:
        model = Agent
        fields = ["username", "password", "name", "address", "is_supervisor", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["username"].initial = self.instance.user.username

    def clean_username(self):
        username = self.cleaned_data["username"]
        taken = get_user_model().objects.filter(username=username)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.user_id)
        if taken.exists():
            raise forms.ValidationError("A user with that username already exists.")
        return username

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.instance.pk and not password:
            raise forms.ValidationError("A new agent needs a password.")
        if password:
            validate_password(password)
        return password

    def save(self, commit=True):
        agent = super().save(commit=False)
        user = agent.user if agent.user_id else get_user_model()()
        user.username = self.cleaned_data["username"]
        if self.cleaned_data["password"]:
            user.set_password(self.cleaned_data["password"])
        user.save()
        agent.user = user
        if commit:
            agent.save()
        return agent


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentAdminForm
    list_display = [
        "display_name", "username", "address", "status", "status_since", "is_supervisor", "active", "has_api_token",
    ]
    list_filter = ["status", "is_supervisor", "user__is_active"]
    search_fields = ["name", "user__username", "address"]
    list_select_related = ["user"]
    readonly_fields = ["status_since", "status_reason", "wrap_up_until"]
    actions = [revoke_agents_api_tokens]

    @admin.display(ordering="user__username")
    def username(self, agent):
        return agent.user.username

    @admin.display(boolean=True, ordering="user__is_active")
    def active(self, agent):
        return agent.user.is_active

    def get_queryset(self, request):
        has_token = Exists(Token.objects.filter(user_id=OuterRef("user_id")))
        return super().get_queryset(request).annotate(api_token=has_token)

    @admin.display(boolean=True, description="API token", ordering="api_token")
    def has_api_token(self, agent):
        return agent.api_token
