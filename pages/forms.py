"""The login form, with the same failed-login throttle as the token endpoint."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from agents.login_guard import client_address, login_blocked, login_failed, login_succeeded


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses to even try a password once one address has failed too often for one username."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed sign-in attempts. Wait a few minutes, then try again.",
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        remote = client_address(self.request)
        if login_blocked(username, remote):
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failed(username, remote)
            raise
        login_succeeded(username, remote)
        return cleaned
