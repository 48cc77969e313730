"""`manage.py check --deploy` that finds the middleware by class, not by dotted path.

Django's deploy checks look for its security, clickjacking, CSRF and session middleware by their
dotted paths. Ours are subclasses that live elsewhere (fastpath/middleware.py: their hooks
run inline under ASGI), so Django reported three of them missing (security.W001-W003) and
silently passed every check that only applies when one is present: HSTS, the SSL redirect,
nosniff, the referrer and cross-origin-opener policies, X-Frame-Options DENY, the CSRF and session
cookies. Here, read from settings.MIDDLEWARE by `issubclass`, so it holds wherever the classes move:

- W001-W003 are silenced (settings.SILENCED_SYSTEM_CHECKS) and made again by class, as
  `desk.W001`-`desk.W003`, with Django's own words;
- Django's dependent checks run once more seeing each of our classes under the path of the Django
  class it extends, and whatever they find only because of that is reported (with Django's IDs, so
  an operator silences them as Django documents).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.checks import Tags, Warning, register
from django.core.checks.security import base, csrf, sessions
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.module_loading import import_string

DJANGO_CLASSES = (SecurityMiddleware, XFrameOptionsMiddleware, CsrfViewMiddleware, SessionMiddleware)
# The Django class whose absence each warning is about, with Django's own message.
PRESENCE = (
    (SecurityMiddleware, "desk.W001", base.W001),
    (XFrameOptionsMiddleware, "desk.W002", base.W002),
    (CsrfViewMiddleware, "desk.W003", csrf.W003),
)
# Django's deploy checks that pass by themselves when they do not see their middleware by path.
DEPENDENT = (
    base.check_sts, base.check_sts_include_subdomains, base.check_sts_preload, base.check_content_type_nosniff,
    base.check_ssl_redirect, base.check_xframe_deny, base.check_referrer_policy,
    base.check_cross_origin_opener_policy, csrf.check_csrf_cookie_secure, sessions.check_session_cookie_secure,
    sessions.check_session_cookie_httponly,
)


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def middleware_as_django_names_them(middleware: list[str]) -> list[str]:
    """MIDDLEWARE with each subclass of one of Django's classes also named by that class's path."""
    named = list(middleware)
    for entry in middleware:
        cls = import_string(entry)
        named += [_path(base_class) for base_class in DJANGO_CLASSES
                  if issubclass(cls, base_class) and _path(base_class) not in named]
    return named


@register(Tags.security, deploy=True)
def check_middleware_by_class(app_configs, **kwargs):
    classes = [import_string(entry) for entry in settings.MIDDLEWARE]
    found = [
        Warning(django_warning.msg, hint=django_warning.hint, id=desk_id)
        for django_class, desk_id, django_warning in PRESENCE
        if not any(issubclass(cls, django_class) for cls in classes)
    ]
    named = middleware_as_django_names_them(settings.MIDDLEWARE)
    if named == list(settings.MIDDLEWARE):
        return found  # Django's own checks already saw every class by its path
    # Test tooling, but the supported way to run Django's checks against another MIDDLEWARE.
    from django.test.utils import override_settings

    as_is = [message for check in DEPENDENT for message in check(app_configs)]
    with override_settings(MIDDLEWARE=named):
        seen_by_class = [message for check in DEPENDENT for message in check(app_configs)]
    return found + [message for message in seen_by_class if message not in as_is]
