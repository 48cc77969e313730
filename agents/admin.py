from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db.models import Exists, OuterRef
from rest_framework.authtoken.models import Token, TokenProxy

from agents.api_keys import api_key_revoke
from agents.credentials import revoke_api_access
from agents.models import Agent, ApiKey, Skill

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
    users = User.objects.filter(pk__in=queryset.values("user_id"))
    _revoke(modeladmin, request, [user.pk for user in users if may_change_login(request.user, user)])


@admin.action(description="Revoke API tokens and close open dashboards", permissions=["change"])
def revoke_users_api_tokens(modeladmin, request, queryset):
    _revoke(modeladmin, request, queryset.values_list("pk", flat=True))


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    actions = [revoke_users_api_tokens]


# The parts of an agent that are its login and its rights (docs/reliability.md): only someone who could
# change that user in Django's own user admin changes them here.
LOGIN_FIELDS = ("username", "password", "is_supervisor")


def may_change_login(staff, user) -> bool:
    """Whether `staff` may change `user`'s username, password and rights: as Django's user admin
    would let them (`auth.change_user`), and a superuser only by a superuser. A new login (`user`
    None) needs `auth.add_user`: a supervisor with a known password is a login with rights."""
    if staff.is_superuser:
        return True
    if user is None:
        return staff.has_perm("auth.add_user") and staff.has_perm("auth.change_user")
    return not user.is_superuser and staff.has_perm("auth.change_user")


class AgentDetailsForm(forms.ModelForm):
    """The agent without its login: what a staff member who may not change the login edits."""

    class Meta:
        model = Agent
        fields = ["name", "address", "status"]


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


class SkillInline(admin.TabularInline):
    """The queues whose calls the agent takes (docs/routing.md, "Skills"); none: every queue."""

    model = Skill
    extra = 1
    fields = ["queue", "level"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentAdminForm
    inlines = [SkillInline]
    list_display = [
        "display_name", "username", "address", "status", "status_since", "is_supervisor", "active", "has_api_token",
    ]
    list_filter = ["status", "is_supervisor", "user__is_active"]
    search_fields = ["name", "user__username", "address"]
    list_select_related = ["user"]
    readonly_fields = ["status_since", "status_reason", "wrap_up_until"]
    actions = [revoke_agents_api_tokens]

    def _may_change_login(self, request, agent: Agent | None) -> bool:
        return may_change_login(request.user, agent.user if agent is not None and agent.user_id else None)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not self._may_change_login(request, obj):
            readonly = ["login", "is_supervisor", *readonly]  # shown, never posted
        return readonly

    def get_form(self, request, obj=None, **kwargs):
        if not self._may_change_login(request, obj):
            kwargs["form"] = AgentDetailsForm  # nothing posted can reach the login
        return super().get_form(request, obj, **kwargs)

    def has_add_permission(self, request):
        # An agent comes with its login: adding one is adding a user.
        return super().has_add_permission(request) and self._may_change_login(request, None)

    @admin.display(ordering="user__username")
    def username(self, agent):
        return agent.user.username

    @admin.display(description="username")
    def login(self, agent):
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


@admin.action(description="Revoke the selected API keys (at once, for good)", permissions=["change"])
def revoke_api_keys(modeladmin, request, queryset):
    revoked = sum(api_key_revoke(key) for key in queryset.select_related("user"))
    modeladmin.message_user(request, f"{revoked} API key(s) revoked: they get 401 from now on.", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Integrators' keys, listed and revoked here; made with `manage.py create_api_key`, which
    prints the key once. Nothing here can show a key: only its hash is stored, and never shown."""

    list_display = ["name", "prefix", "read_only", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["read_only", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    fields = readonly_fields = ["name", "prefix", "read_only", "created_at", "last_used_at", "revoked_at"]
    actions = [revoke_api_keys]

    def has_add_permission(self, request) -> bool:
        return False  # `manage.py create_api_key NAME`: a key is shown once, where it is made

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked keys stay listed: who had access, and until when
