"""WebSocket origin check and authentication (docs/integrations.md): a one-time `?ticket=T`
(`POST /api/ws-ticket/`), `?token=KEY`, an `Authorization: Api-Key KEY` header (integrators'
server-side clients), or the session cookie (browsers)."""

from importlib import import_module
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope, name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name), "")


def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else None


def _user_for_api_key(scope):
    from agents.api_keys import KEYWORD, live_key

    scheme, _, key = _header(scope, b"authorization").partition(" ")
    if scheme.lower() != KEYWORD.lower() or not key.strip():
        return None
    row = live_key(key.strip())
    return row.user if row else None


def _user_for_session(session_key: str):
    """Django's own rules for a session's user (backend, session hash after a password change)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return get_user(SimpleNamespace(session=session))


@database_sync_to_async
def _user_of(scope):
    """The first of these that is valid: `?ticket=T` (used up by this socket), `?token=KEY`, an
    `Api-Key` header; else the session cookie; else anonymous."""
    from agents.socket_tickets import ticket_take

    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tickets, keys = query.get("ticket"), query.get("token")
    user = (
        (tickets and ticket_take(tickets[0][:64]))
        or (keys and _user_for_token(keys[0][:64]))
        or _user_for_api_key(scope)
    )
    if user:
        return user
    session_key = parse_cookie(_header(scope, b"cookie")).get(settings.SESSION_COOKIE_NAME)
    return _user_for_session(session_key) if session_key else AnonymousUser()


class SessionOrTokenAuthMiddleware:
    """Who is on the socket, decided once when it connects: `scope["user"]`.

    Channels' AuthMiddlewareStack would do the same, but it also wraps the socket's `send` to save
    a changed session, a check on each of the hundreds of messages a dashboard receives; a
    dashboard never changes its session, so messages here go straight to Daphne.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = await _user_of(scope)
        return await self.inner({**scope, "user": user}, receive, send)


class BrowserOriginValidator:
    """Browsers always send Origin, and only the site's own pages may open a dashboard socket
    (cross-site WebSocket hijacking): the Origin must be the site's origin exactly, scheme, host
    and port, as Django's CSRF check compares it (a page on http://cc.example.com:8080 is not
    https://cc.example.com). The site's origins: PUBLIC_BASE_URL and CSRF_TRUSTED_ORIGINS, and
    the origin the socket itself was opened on (its scheme and Host, a host in ALLOWED_HOSTS).

    A request without Origin does not come from a browser, so it cannot ride a victim's cookies;
    it is let through to authenticate like any API client.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin and _origin(origin) not in _site_origins(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with the scheme's default port filled in; None if it is no origin."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port


def _site_origins(scope) -> set:
    origins = {_origin(url) for url in [settings.PUBLIC_BASE_URL, *settings.CSRF_TRUSTED_ORIGINS] if url}
    host = _header(scope, b"host")
    if host:
        domain, _ = split_domain_port(host)
        if domain and validate_host(domain, _allowed_hosts()):
            origins.add(_origin(f"{'https' if _secure(scope) else 'http'}://{host}"))
    origins.discard(None)
    return origins


def _secure(scope) -> bool:
    """As Django decides for HTTP requests: TLS to us, or the proxy's header (SECURE_PROXY_SSL_HEADER)."""
    if scope.get("scheme") == "wss":
        return True
    if settings.SECURE_PROXY_SSL_HEADER:
        name, value = settings.SECURE_PROXY_SSL_HEADER
        header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        return _header(scope, header).split(",")[0].strip() == value
    return False


def _allowed_hosts() -> list[str]:
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]  # as Django's HttpRequest.get_host
    return settings.ALLOWED_HOSTS
