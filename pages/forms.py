"""The sign-in forms (the login page's and the admin's), behind the same throttle as the token
endpoint (agents/login_guard.py)."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from agents.login_guard import LoginRefused, throttled_authenticate


class ThrottledLoginMixin:
    """AuthenticationForm's check of the password, through the throttle. A refusal is a form error
    with the throttle's code; `refusal_status` tells the view which status to answer with."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = throttled_authenticate(self.request, username=username, password=password)
            except LoginRefused as refused:
                self.refused = refused
                raise forms.ValidationError(str(refused), code=refused.code) from None
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


def refusal_status(form) -> int | None:
    """The HTTP status of a sign-in the throttle refused (429 or 503), None otherwise."""
    refused = getattr(form, "refused", None)
    return refused.http_status if refused is not None else None


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
