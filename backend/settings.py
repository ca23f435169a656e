"""Nigrani settings: one module, configured wholly from the environment.

Production-safe by default: DEBUG off, no default SECRET_KEY, secure cookies, HSTS, explicit hosts.
``NIGRANI_DEV=1`` (set by ``make run`` and the test suite) opts into development mode.
"""

import json
import secrets
from base64 import b64encode
from datetime import timedelta
from pathlib import Path

import dj_database_url

from accounts.roles import render_markdown as render_permissions_markdown
from backend.env import (
    ConfigError,
    env_bool,
    env_int,
    env_list,
    env_required,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("NIGRANI_VAR_DIR", str(BASE_DIR / "var")))

DEV_MODE = env_bool("NIGRANI_DEV", default=False)
DEBUG = env_bool("DJANGO_DEBUG", default=DEV_MODE)

if DEV_MODE:
    SECRET_KEY = (
        env_str("SECRET_KEY") or "dev-only-insecure-key-never-used-in-production-0123456789"
    )
else:
    SECRET_KEY = env_required("SECRET_KEY")

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEV_MODE else []
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "procrastinate.contrib.django",
    "common",
    "jurisdictions",
    "accounts",
    "audit",
    "registry",
    "push",
    "compliance",
    "mobile_api",
    "checkins",
    "django.contrib.postgres",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "common.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.WebSessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL is required; `make run` / `make test` start the embedded PostgreSQL (pgserver)
# and export its URL when none is given.
_database_url = env_str("DATABASE_URL")
if not _database_url:
    raise ConfigError(
        "DATABASE_URL must be set (make run, make test and make manage set it for you)"
    )
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
DATABASES["default"]["TEST"] = {"NAME": env_str("NIGRANI_TEST_DB", "test_nigrani")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis / channels -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL") or None
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.Officer"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"

NIGRANI_MOBILE_TOKEN_HOURS = env_int("NIGRANI_MOBILE_TOKEN_HOURS", 12)
NIGRANI_WEB_IDLE_MINUTES = env_int("NIGRANI_WEB_IDLE_MINUTES", 30)
NIGRANI_LOCKOUT_FAILURES = env_int("NIGRANI_LOCKOUT_FAILURES", 5)
NIGRANI_LOCKOUT_WINDOW_MINUTES = env_int("NIGRANI_LOCKOUT_WINDOW_MINUTES", 15)
# Failures from one client address across all accounts before it is throttled (429).
NIGRANI_IP_FAILURES = env_int("NIGRANI_IP_FAILURES", 20)
# Days a LoginAttempt row is kept (the nightly prune); at least two lockout windows.
NIGRANI_LOGIN_ATTEMPT_RETENTION_DAYS = env_int("NIGRANI_LOGIN_ATTEMPT_RETENTION_DAYS", 90)
NIGRANI_TOTP_ISSUER = env_str("NIGRANI_TOTP_ISSUER", "Nigrani")

SESSION_COOKIE_AGE = NIGRANI_WEB_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True  # the idle timeout slides with activity
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# --- Security headers (production-safe by default) -------------------------------------------
_secure = not DEV_MODE
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _secure)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _secure)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _secure)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEV_MODE else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEV_MODE
SECURE_HSTS_PRELOAD = not DEV_MODE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# /healthz and /readyz are probed over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- i18n / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "Asia/Karachi"  # shown as PKT; stored as UTC (USE_TZ)
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
NIGRANI_PHOTO_MAX_BYTES = env_int("NIGRANI_PHOTO_MAX_BYTES", 5 * 1024 * 1024)

# --- DRF / OpenAPI --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "common.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Nigrani API",
    # The permission table is rendered into the interactive docs from the one table in code.
    "DESCRIPTION": "Field system around Pakistan's National Sex Offenders Register.\n\n"
    + render_permissions_markdown(),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Jobs (procrastinate) -------------------------------------------------------------------
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "jobs"  # every app's jobs.py
PROCRASTINATE_ON_APP_READY = "backend.jobs.on_app_ready"

# --- Encryption at rest ---------------------------------------------------------------------
# NIGRANI_ENCRYPTION_KEYS: "kid:base64key,kid2:base64key" (32-byte AES-256 keys); the first is
# used for new values, the others only to read old ones until `rotate_keys` has run.
# NIGRANI_BLIND_INDEX_KEY: base64, a separate HMAC key for exact lookups.
# Neither is ever derived from SECRET_KEY.
_dev_keys_path = VAR_DIR / "dev-keys.json"


def _dev_keys() -> dict[str, str]:
    """Development only: generate keys once and keep them under var/ (never committed)."""
    if _dev_keys_path.exists():
        return json.loads(_dev_keys_path.read_text())
    keys = {
        "encryption": f"dev1:{b64encode(secrets.token_bytes(32)).decode()}",
        "blind_index": b64encode(secrets.token_bytes(32)).decode(),
    }
    _dev_keys_path.parent.mkdir(parents=True, exist_ok=True)
    _dev_keys_path.write_text(json.dumps(keys))
    _dev_keys_path.chmod(0o600)
    return keys


_enc_keys = env_str("NIGRANI_ENCRYPTION_KEYS")
_blind_key = env_str("NIGRANI_BLIND_INDEX_KEY")
if (not _enc_keys or not _blind_key) and DEV_MODE:
    _generated = _dev_keys()
    _enc_keys = _enc_keys or _generated["encryption"]
    _blind_key = _blind_key or _generated["blind_index"]
if not _enc_keys or not _blind_key:
    raise ConfigError("NIGRANI_ENCRYPTION_KEYS and NIGRANI_BLIND_INDEX_KEY must be set")
NIGRANI_ENCRYPTION_KEYS = _enc_keys
NIGRANI_BLIND_INDEX_KEY = _blind_key

# --- Outbound channels (push/) --------------------------------------------------------------
NIGRANI_SMS_BACKEND = env_str("NIGRANI_SMS_BACKEND", "console")
NIGRANI_PUSH_BACKEND = env_str("NIGRANI_PUSH_BACKEND", "console")
# (SMS gateway, outbox and receipt settings go here.)

# --- Field verification (mobile_api/) -------------------------------------------------------
# (Visit rules, task scheduling and photo storage settings go here.)

# --- Check-ins (checkins/) ------------------------------------------------------------------
# (Schedule, reminder, OTP and station-boundary settings go here.)

# --- Logging: structured enough to grep, never protected values ------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"strip_query": {"()": "backend.log_filters.StripQueryString"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Query strings can hold a CNIC or a name (?cnic=, ?q=): never in the access log.
        "uvicorn.access": {"handlers": ["console"], "filters": ["strip_query"], "propagate": False},
    },
}

DEMO_PASSWORD = env_str("DEMO_PASSWORD", "nigrani-demo-2026")
SESSION_IDLE_TIMEOUT = timedelta(minutes=NIGRANI_WEB_IDLE_MINUTES)
