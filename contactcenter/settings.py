"""Settings, read from the environment (see README "Configuration")."""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from contactcenter.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# templates/ and static/ sit at the top of a checkout; a wheel carries them inside this package
# (setup.py). Installed from a wheel, the defaults that write files (the SQLite database,
# collectstatic's output) write to the working directory, never into site-packages.
_PACKAGE_DIR = Path(__file__).resolve().parent
INSTALLED_FROM_WHEEL = (_PACKAGE_DIR / "templates").is_dir()
ASSETS_DIR = _PACKAGE_DIR if INSTALLED_FROM_WHEEL else BASE_DIR
DATA_DIR = Path.cwd() if INSTALLED_FROM_WHEEL else BASE_DIR

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment, or DEBUG=true for local development."
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL] if PUBLIC_BASE_URL else []

INSTALLED_APPS = [
    # daphne first, so `runserver` serves ASGI (WebSockets included).
    "daphne",
    "contactcenter.apps.DeskAdminConfig",  # Django's admin, with the desk's site (secrets, throttle)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files: /api/docs/ works offline
    "channels",
    "agents",
    "calls",
    "pages",
    "devtools",
    "contactcenter.apps.DeskConfig",  # its deploy checks (contactcenter/checks.py)
]

# Django's middleware with their hooks run inline on the event loop (fastpath/middleware.py):
# under ASGI, Django's own classes would take two thread hops each per request.
# The first three only add headers, so they come before the probes, which are answered on any Host
# (contactcenter/probes.py) before CommonMiddleware checks it against ALLOWED_HOSTS.
MIDDLEWARE = [
    "fastpath.middleware.SecurityMiddleware",
    "fastpath.middleware.XFrameOptionsMiddleware",
    "contactcenter.security_headers.ContentSecurityPolicyMiddleware",
    "contactcenter.no_store.NoStoreForAPI",
    "contactcenter.probes.ProbesOnAnyHost",
    "servestatic.middleware.ServeStaticMiddleware",
    "fastpath.middleware.SessionMiddleware",
    "fastpath.middleware.CommonMiddleware",
    "fastpath.middleware.CsrfViewMiddleware",
    "fastpath.middleware.AuthenticationMiddleware",
    "fastpath.middleware.MessageMiddleware",
]

ROOT_URLCONF = "contactcenter.urls"
ASGI_APPLICATION = "contactcenter.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [ASSETS_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url: str) -> dict:
    config = dj_database_url.parse(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Writers queue up instead of failing with "database is locked": IMMEDIATE takes the
        # write lock at BEGIN, the busy timeout waits for it, WAL lets readers run beside a writer.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        # Async views run each request's sync steps in a thread of its own, so persistent
        # connections (CONN_MAX_AGE) would be one per thread, never reused. Instead each process
        # keeps a pool: a request borrows a connection and gives it back when it ends, and under
        # a burst requests queue for one instead of exceeding PostgreSQL's max_connections.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = True  # a connection that died in the pool is not handed out
        config.setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": env_int("DATABASE_POOL_SIZE", 10)}
    return config


DATABASES = {"default": _database(env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    # The pub/sub layer: one publish per change reaches every process's fan-out hub; there is
    # no per-channel queue to overflow (capacity) and nothing to expire. Loss is possible while
    # Redis is away; the hub notices and tells every dashboard to resync.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "cc"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or DATA_DIR / "staticfiles")  # where collectstatic writes
STATICFILES_DIRS = [ASSETS_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_AUTOREFRESH = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    # Token first: DRF answers an anonymous request with the first class's challenge, and only
    # TokenAuthentication has one (401 + WWW-Authenticate), where the session would give 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "agents.api_keys.ApiKeyAuthentication",  # integrators' keys, read-only ones refused changes
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "conventions.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Plivo agent desk API",
    "DESCRIPTION": "Agent and supervisor actions on Plivo PHLO multiparty calls.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AgentStatusEnum": "agents.models.AgentStatus",
        "CallStatusEnum": "calls.core.vocabulary.CallStatus",
        "MonitorModeEnum": "calls.core.vocabulary.MonitorMode",
        "SelectableStatusEnum": ["available", "away", "offline"],
    },
    # `<id:…>` in URL paths (conventions/ids.py): a database id, 1 to 2**63 - 1.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
}

# The product's own settings.
PHLO_BASE_URL = env_str("PHLO_BASE_URL", "https://phlorunner.plivo.com/v1").rstrip("/")
PHLO_TIMEOUT = env_float("PHLO_TIMEOUT", 5.0)
PLIVO_API_BASE_URL = env_str("PLIVO_API_BASE_URL", "https://api.plivo.com/v1").rstrip("/")
PLIVO_VERIFY_SIGNATURES = env_bool("PLIVO_VERIFY_SIGNATURES", True)
WRAP_UP_SECONDS = env_float("WRAP_UP_SECONDS", 30.0)
DISPOSITION_REQUIRED = env_bool("DISPOSITION_REQUIRED", False)
ROUTING_RING_SECONDS = env_float("ROUTING_RING_SECONDS", 20.0)
SERVICE_LEVEL_SECONDS = env_float("SERVICE_LEVEL_SECONDS", 20.0)
METRICS_TOKEN = env_str("METRICS_TOKEN")
# How many days ended calls are kept, with their members, callbacks, actions and wrap-ups:
# `manage.py prune_history`, on a timer (docs/data.md). Unset: kept until an operator prunes them.
RETENTION_DAYS = env_int("RETENTION_DAYS", None) if env_str("RETENTION_DAYS").strip() else None
if RETENTION_DAYS is not None and RETENTION_DAYS < 1:
    raise ImproperlyConfigured(f"RETENTION_DAYS must be a number of days, 1 or more, not {RETENTION_DAYS}.")
# Whether this process runs the call router in the background (calls/queue/routing.py). In-process tests
# switch it off and drive routing passes themselves.
ROUTER_ENABLED = env_bool("ROUTER_ENABLED", True)

# Hostile-world limits (docs/reliability.md, "The second probe").
# How many proxies in front append to X-Forwarded-For (nginx alone: 1); 0 trusts no header.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
MAX_SOCKETS_PER_USER = env_int("MAX_SOCKETS_PER_USER", 20)  # dashboards per person per process
STATUS_CHANGES_PER_MINUTE = env_int("STATUS_CHANGES_PER_MINUTE", 30)
# No request needs more than this (callbacks are 64 KB at most); a bigger declared body is refused
# before it is read (contactcenter/asgi.py). Put the same limit in the proxy (docs/deploy.md).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# Cookies are Secure whenever we know the site is served over TLS (PUBLIC_BASE_URL is https),
# or when asked; a plain-http loopback deployment still has working logins.
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and PUBLIC_BASE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Browsers that have seen the site over https come back only over https, for a year. Sent only on
# requests Django sees as secure (SECURE_PROXY_SSL_HEADER behind the proxy).
if PUBLIC_BASE_URL.startswith("https://") and not DEBUG:
    SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # names under the desk's own host name, which it owns
    # The proxy redirects http to https already (docs/deploy.md); this catches a request that
    # reached the desk without it. The probes are reached by address over plain http: not redirected.
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
SILENCED_SYSTEM_CHECKS = [
    # Our middleware are subclasses of Django's under other paths: contactcenter/checks.py makes
    # these three checks by class instead (desk.W001-W003), and the checks that depend on them.
    "security.W001", "security.W002", "security.W003",
    # HSTS preload is a promise for a whole registrable domain (example.com and every name under
    # it), the domain owner's to make, not this application's.
    "security.W021",
]
# Scripts only from our own files: an injected <script> or inline handler does not run
# (contactcenter/security_headers.py: ContentSecurityPolicyMiddleware).
# Recordings play from where Plivo keeps them (https), or from the simulator behind PLIVO_API_BASE_URL.
_RECORDINGS_ORIGIN = "{0.scheme}://{0.netloc}".format(urlsplit(PLIVO_API_BASE_URL))
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    f"media-src 'self' https: {_RECORDINGS_ORIGIN}; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "contactcenter.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}
