"""The admin site: Django's, with two rules for every model admin registered on it (the apps',
Django's own users and groups, and any added later), so no admin has to remember them:

- secret fields (credentials) are never rendered, filtered or searched: a view-only user would
  otherwise see them in clear on the read-only change page, and any staff user could recover
  them character by character through the change list's URL: a PHLO app's token
  (`?auth_token__regex=^O`), an API token through a relation Django lets through
  (`/admin/auth/user/?auth_token__key__startswith=a`);
- its login form is behind the sign-in throttle (agents/login_guard.py).

Its index shows first what an operator should see: callbacks of the last hour the desk did not
recognise or could match to no call, the sign of a PHLO set up wrongly (docs/operations.md).
"""

from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP
from django.utils import timezone

from pages.forms import ThrottledAdminAuthenticationForm, refusal_status

# app_label.model.field of every credential stored in the database.
SECRET_FIELDS = frozenset({
    "calls.phloapp.auth_token",
    "auth.user.password",
    "authtoken.token.key",
    "agents.apikey.hashed_key",
    "agents.socketticket.digest",
    "sessions.session.session_key",
    "sessions.session.session_data",
})


def is_secret(field) -> bool:
    concrete = getattr(field, "concrete", False) and not field.is_relation
    return concrete and f"{field.model._meta.label_lower}.{field.name}" in SECRET_FIELDS


def reaches_secret(model, lookup: str) -> bool:
    """Whether a lookup (`phlo_app__auth_token__regex`, `user__auth_token__key`) reads a secret
    field of `model` or of a model it reaches through relations."""
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a transform or lookup name (`regex`): the path ended on a plain field
        if is_secret(field):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


class SecretsNeverShown:
    """Mixed into every model admin by `DeskAdminSite.register`."""

    def lookup_allowed(self, lookup, value, request=None):
        return not reaches_secret(self.model, lookup) and super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        return [name for name in fields if not reaches_secret(self.model, name.lstrip("^=@"))]

    def get_list_filter(self, request):
        return [item for item in super().get_list_filter(request) if not self._names_secret(item)]

    def get_fieldsets(self, request, obj=None):
        """A secret field appears only as a form field, whose widget never renders a value back
        (calls/admin.py: PhloAppForm). Read-only (for a user who may only view, or listed in
        readonly_fields), Django would print the value itself: then it is left out."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            read_only = None  # everything
        else:
            read_only = set(self.get_readonly_fields(request, obj))

        def shown(name) -> bool:
            return not ((read_only is None or name in read_only) and self._names_secret(name))

        return [
            (title, {**options, "fields": _kept(options.get("fields", ()), shown)}) for title, options in fieldsets
        ]

    def _names_secret(self, item) -> bool:
        name = item[0] if isinstance(item, list | tuple) else item
        return isinstance(name, str) and reaches_secret(self.model, name)


def _kept(fields, shown) -> list:
    """`fields` of a fieldset without the hidden ones; a tuple is several fields on one line."""
    kept = []
    for entry in fields:
        if isinstance(entry, list | tuple):
            entry = tuple(name for name in entry if shown(name))
            if entry:
                kept.append(entry)
        elif shown(entry):
            kept.append(entry)
    return kept


ATTENTION_WINDOW = timedelta(hours=1)


class DeskAdminSite(admin.AdminSite):
    login_form = ThrottledAdminAuthenticationForm
    site_header = "Agent Desk administration"
    site_title = "Agent Desk admin"
    index_template = "admin/desk_index.html"

    def index(self, request, extra_context=None):
        from calls.core.reads import callbacks_needing_attention

        since = timezone.now() - ATTENTION_WINDOW
        return super().index(request, {**(extra_context or {}), "callbacks": callbacks_needing_attention(since)})

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, SecretsNeverShown):
            admin_class = type(admin_class.__name__, (SecretsNeverShown, admin_class), {})
        return super().register(model_or_iterable, admin_class, **options)

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None and request.method == "POST":
            response.status_code = refusal_status(form) or response.status_code
        return response
