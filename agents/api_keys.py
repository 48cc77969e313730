"""Integrators' API keys (docs/integrations.md, "Keys").

An integration (a CRM, a wallboard, a reporting job) gets a key of its own instead of a person's
token: named, so an operator knows whose it is; revocable on its own, at once; read-only or acting.
`Authorization: Api-Key KEY` authenticates a REST request as the key's service user, which the one
supervisor rule recognises (agents/models.py: supervises), so the key reads what a supervisor
reads. A read-only key is refused (403) every POST, PATCH, PUT and DELETE here, before any view
runs, so no view has to remember it.

A key is `desk_<prefix>_<secret>`: the prefix finds its row, the secret (256 random bits) is
checked against the stored SHA-256 of the whole key. A fast hash is right for a random key (a
slow password hasher guards guessable passwords, and would cost every request tens of
milliseconds); the key itself is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import SAFE_METHODS

from agents.credentials import revoke_api_access
from agents.models import ApiKey

KEYWORD = "Api-Key"
KEY_PATTERN = re.compile(r"^desk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SERVICE_USER_PREFIX = "api-key:"  # a colon: no username a person is given through a form can clash
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


class KeyRefused(ValueError):
    pass


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, read_only: bool) -> tuple[ApiKey, str]:
    """A new key and its service user; returns the row and the key, which nobody can see again."""
    if not NAME_PATTERN.match(name):
        raise KeyRefused("NAME must be 1 to 64 letters, digits, dots, dashes or underscores, starting with one of the"
                         " first two.")
    if ApiKey.objects.filter(name=name).exists():
        raise KeyRefused(f"A key named {name!r} exists already (revoked keys keep their names); choose another.")
    user_model = get_user_model()
    username = f"{SERVICE_USER_PREFIX}{name}"
    if user_model.objects.filter(username=username).exists():
        raise KeyRefused(f"A user named {username!r} exists already; choose another name.")
    user = user_model(username=username, first_name=name[:150])
    user.set_unusable_password()
    user.save()
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = f"desk_{prefix}_{secret}"
    row = ApiKey.objects.create(name=name, prefix=prefix, hashed_key=_digest(key), read_only=read_only, user=user)
    return row, key


@transaction.atomic
def api_key_revoke(key: ApiKey) -> bool:
    """Revoke at once, on every process (each request reads the key's row). Its service user is
    switched off too, so sockets it opened close. False if it was revoked already."""
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    user = key.user
    revoke_api_access([user.pk])  # first: its sockets close as signed out (4401)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return bool(revoked)


def live_key(key: str) -> ApiKey | None:
    """The live key `key` is, with its service user loaded (and the key cached on it), or None."""
    found = KEY_PATTERN.match(key)
    if found is None:
        return None
    row = ApiKey.objects.select_related("user").filter(prefix=found.group(1), revoked_at__isnull=True).first()
    if row is None or not hmac.compare_digest(row.hashed_key, _digest(key)) or not row.user.is_active:
        return None
    return row


def _note_use(row: ApiKey) -> None:
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        ApiKey.objects.filter(pk=row.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
        ).update(last_used_at=now)


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Api-Key KEY`: the key's service user, and the key as `request.auth`."""

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != KEYWORD.lower().encode():
            return None
        if len(words) != 2:
            raise AuthenticationFailed("The Authorization header must be `Api-Key KEY`.")
        row = live_key(words[1].decode("latin-1"))
        if row is None:
            raise AuthenticationFailed("This API key is not valid, or has been revoked.")
        if row.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied(f"The API key {row.name!r} is read-only: it may read, never change anything.")
        _note_use(row)
        return row.user, row

    def authenticate_header(self, request) -> str:
        return f'{KEYWORD} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How /api/schema/ describes the key (drf-spectacular finds it by `target_class`)."""

    target_class = ApiKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": f"`{KEYWORD} KEY`: an integration's key from `manage.py create_api_key`.",
        }
