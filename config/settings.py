"""Racine settings: read from the environment only.

With no variable set at all Racine runs in its *embedded* mode, for a first look or development: SQLite under
``var/``, Celery tasks executed in process, a local-memory cache, DEBUG on. Production sets ``DATABASE_URL``,
``REDIS_URL``, ``CELERY_BROKER_URL``, ``SECRET_KEY`` and ``ALLOWED_HOSTS`` (see the README's table) and
refuses to start when a required one is missing.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet

from config.env import ConfigurationError, env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RACINE_VAR_DIR", str(BASE_DIR / "var")))

DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED = DATABASE_URL is None
# The embedded default is a developer's laptop: DEBUG follows it unless said otherwise.
DEBUG = env_bool("DEBUG", EMBEDDED)


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        if not DEBUG and len(key) < 50:
            raise ConfigurationError("SECRET_KEY is shorter than 50 characters; generate one with "
                                     "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`")
        return key
    if not DEBUG:
        raise ConfigurationError("SECRET_KEY is not set; production mode (DEBUG=false) needs it")
    # Development only: a key generated once per checkout, so sessions survive restarts; never committed.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ConfigurationError("ALLOWED_HOSTS is not set; production mode (DEBUG=false) needs the host names "
                             "Racine is served under, comma-separated")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django_prometheus",
    "accounts.apps.RacineAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "accounts.apps.OtpTotpConfig",  # django_otp.plugins.otp_totp, with a readable name in the admin
    "accounts.apps.OtpStaticConfig",  # django_otp.plugins.otp_static, likewise
    "django_celery_beat",
    "csp",
    "config.apps.ConfigAppConfig",
    "accounts",
    "core",
    "sources",
    "catalog",
    "scanning",
    "compliance",
    "governance",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "config.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.LoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.problems.ApiExceptionMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

# --- Database ---------------------------------------------------------------------------------------------
if EMBEDDED:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django_prometheus.db.backends.sqlite3",
            "NAME": VAR_DIR / "racine.sqlite3",
            # IMMEDIATE: writers queue for the lock instead of failing mid-transaction with "database is locked".
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
        if env_bool("RACINE_DB_POOL", True):
            # psycopg 3's pool replaces persistent connections (Django requires CONN_MAX_AGE=0 with it).
            DATABASES["default"]["CONN_MAX_AGE"] = 0
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": env_int("RACINE_DB_POOL_MIN_SIZE", 2, minimum=0),
                "max_size": env_int("RACINE_DB_POOL_MAX_SIZE", 10, minimum=1),
                "timeout": env_int("RACINE_DB_POOL_TIMEOUT", 10, minimum=1),
            }
        else:
            # Without the pool, a connection per request would cost each request a connect and an authentication.
            DATABASES["default"]["CONN_MAX_AGE"] = env_int("RACINE_DB_CONN_MAX_AGE", 300, minimum=0)
            DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.sqlite3"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ----------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Short socket timeouts: a cache that stops answering must not hold requests (its users degrade instead,
# config.cache_guard); Redis answers in well under a millisecond.
_CACHE_TIMEOUT_S = env_int("RACINE_CACHE_TIMEOUT_MS", 500, minimum=1) / 1000
REDIS_CACHE_OPTIONS = {"socket_connect_timeout": _CACHE_TIMEOUT_S, "socket_timeout": _CACHE_TIMEOUT_S}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "racine", "OPTIONS": REDIS_CACHE_OPTIONS}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "racine"}}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
# No broker means embedded mode: run tasks inline so a fresh checkout needs no Redis.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
if CELERY_TASK_ALWAYS_EAGER:
    # Eager mode never sends a message, but Celery still builds a producer: give it an in-memory transport
    # (with a host name, or kombu logs a warning on every task).
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("RACINE_TASK_SOFT_TIME_LIMIT", 1800, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("RACINE_TASK_TIME_LIMIT", 1860, minimum=1)
# kombu's default visibility timeout is one hour: a task whose worker died is redelivered only after it.
# Keep it just above the hard limit so a lost task comes back soon, but never while it may still be running.
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("RACINE_BROKER_VISIBILITY_TIMEOUT", 2100, minimum=1)
if not CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_BROKER_VISIBILITY_TIMEOUT:
    raise ConfigurationError(
        "task time limits must satisfy RACINE_TASK_SOFT_TIME_LIMIT < RACINE_TASK_TIME_LIMIT < "
        "RACINE_BROKER_VISIBILITY_TIMEOUT")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Authentication ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses locked-out (account, address) pairs and addresses before any password is checked, on every
    # login path.
    "accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous callers have no grants at all.
GUARDIAN_RAISE_403 = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
OTP_TOTP_ISSUER = env_str("RACINE_OTP_ISSUER", "Racine")
# Enrolling an authenticator needs the password checked (at login or re-entered) within this many minutes.
RACINE_MFA_ENROL_PASSWORD_MAX_AGE = env_int("RACINE_MFA_ENROL_PASSWORD_MAX_AGE", 10, minimum=1)
# The device admins never show a second factor's secret (TOTP key, QR code, backup codes), superusers included:
# whoever reads one can pass as its owner. Enrolment shows the QR to its owner only (accounts.mfa).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Security (check --deploy is clean with the production variables) -------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("RACINE_BEHIND_PROXY", not DEBUG) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Probes and scrapers talk plain HTTP to the container; they must not be redirected.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("RACINE_SESSION_AGE", 8 * 3600, minimum=60)
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin and ReDoc set inline style attributes; scripts stay strictly same-origin.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Static files, i18n -----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("RACINE_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# In development WhiteNoise serves straight from the apps' static folders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- API --------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Bearer tokens first: DRF answers 401 (with WWW-Authenticate) only when the first class names a scheme.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated",
                                   "accounts.authentication.TokenScopeAllows",
                                   "accounts.authentication.MfaVerified"],
    # JSON bodies only: the schema promises JSON, and form parsing would give every field a second, looser
    # syntax (booleans as "0", thousands of multipart fields) that no client needs. Nesting is bounded
    # (config/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "config.renderers.BrowsableAPIRenderer"],
    "DEFAULT_METADATA_CLASS": "config.metadata.Metadata",
    "VIEW_NAME_FUNCTION": "config.naming.view_name",
    "VIEW_DESCRIPTION_FUNCTION": "config.naming.view_description",
    "DEFAULT_PAGINATION_CLASS": "config.pagination.Pagination",
    "PAGE_SIZE": 50,
    # Strict: a parameter no backend reads, an ordering field not offered or an unreadable value is a 400.
    "DEFAULT_FILTER_BACKENDS": [
        "config.filters.KnownParametersOnly",
        "config.filters.DjangoFilterBackend",
        "config.filters.SearchFilter",
        "config.filters.OrderingFilter",
    ],
    # DRF's throttles, failing open (logged, counted) when the cache is unreachable.
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.AnonRateThrottle", "config.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("RACINE_THROTTLE_ANON", "60/minute"),
        "user": env_str("RACINE_THROTTLE_USER", "1200/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "config.schema.RacineAutoSchema",
    "EXCEPTION_HANDLER": "config.problems.api_exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Racine API",
    # What exists today; the README lists what is planned (glossary, lineage, compliance, workflows).
    "DESCRIPTION": "Racine's data governance API: data sources and connection tests; scans, their runs and the "
                   "drift they find; the catalog of assets; sensitive-data classifications with their evidence "
                   "and review; classification rules and detection on demand; workspaces, members, audit events, "
                   "API tokens and the second factor. Authenticate with an API token (Authorize: bearerToken) or "
                   "a session verified by its second factor. Errors are RFC 9457 problem details.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The same gate as the API itself: an unverified staff session must not read the docs either.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "accounts.authentication.MfaVerified"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Glossary terms have a status of their own (draft / approved / deprecated) beside runs' and classifications'.
    # An asset's type keeps the name it had before property definitions brought a second "type" field.
    "ENUM_NAME_OVERRIDES": {"GlossaryTermStatusEnum": "catalog.models.GlossaryTerm.Status",
                            "TypeEnum": "catalog.models.Asset.Type",
                            "PropertyTypeEnum": "catalog.models.PropertyDefinition.Type"},
}

# Login form posts per client address (admin and browsable-API logins), on top of the lockout (accounts.lockout).
RACINE_LOGIN_RATE = env_str("RACINE_LOGIN_RATE", "20/minute")

# --- Observability ----------------------------------------------------------------------------------------
RACINE_METRICS_TOKEN = env_secret("RACINE_METRICS_TOKEN")
# Racine's own metrics are aggregates read from the database: each process computes them at most this often.
RACINE_METRICS_CACHE_SECONDS = env_int("RACINE_METRICS_CACHE_SECONDS", 10, minimum=0)
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# Production logs are read by machines (one JSON object per line); a developer's console by people.
LOG_FORMAT = env_str("RACINE_LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ConfigurationError(f"RACINE_LOG_FORMAT={LOG_FORMAT!r}: use json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.request_id.RequestIdLogFilter"}},
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"}},
        "text": {"()": "config.request_id.TextLogFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Our access log replaces runserver's, which carries no request id.
        "django.server": {"handlers": [], "level": "WARNING", "propagate": False},
        "celery": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}

# --- Racine -----------------------------------------------------------------------------------------------
RACINE_ORGANIZATION_NAME = env_str("RACINE_ORGANIZATION_NAME", "Racine")


def _encryption_keys() -> list[str]:
    """Fernet keys for connector secrets, newest first: the first encrypts, all decrypt (rotation)."""
    raw = env_secret("RACINE_ENCRYPTION_KEYS")
    if raw:
        return [key.strip() for key in raw.split(",") if key.strip()]
    if not DEBUG:
        raise ConfigurationError("RACINE_ENCRYPTION_KEYS is not set; production mode (DEBUG=false) needs it to "
                                 "encrypt connector secrets (generate one with `python -c 'from "
                                 "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)")
    # Development only, like the secret key: generated once per checkout, never committed.
    key_file = VAR_DIR / "encryption_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(Fernet.generate_key().decode())
        key_file.chmod(0o600)
    return [key_file.read_text().strip()]


RACINE_ENCRYPTION_KEYS = _encryption_keys()
# Hosts connectors may reach: comma-separated CIDRs or host-name globs. Cloud metadata and link-local
# addresses are always refused; an empty allow list allows every other address.
RACINE_TARGET_ALLOW = env_list("RACINE_TARGET_ALLOW")
RACINE_TARGET_DENY = env_list("RACINE_TARGET_DENY")
# Targets on this machine (loopback, 0.0.0.0, its interfaces' addresses): a developer's local databases in
# development; in production only those RACINE_TARGET_ALLOW names. Fixed at start-up, so the test runner, which
# turns DEBUG off after loading the settings, keeps the mode the suite was started in.
RACINE_TARGET_ALLOW_LOCAL = DEBUG
# SQLite sources are files on this server: only files below these folders may be registered (never Racine's
# own database), or a steward could read the application's tables through a "data source".
RACINE_SQLITE_ALLOWED_DIRS = env_list("RACINE_SQLITE_ALLOWED_DIRS", [str(VAR_DIR / "sources")])
# CA bundles a source's TLS options (sslrootcert, ssl_ca) may name: files below these folders only.
RACINE_TLS_CA_DIRS = env_list("RACINE_TLS_CA_DIRS", ["/etc/ssl/certs", str(VAR_DIR / "certs")])
RACINE_CONNECT_TIMEOUT = env_int("RACINE_CONNECT_TIMEOUT", 10, minimum=1)
RACINE_STATEMENT_TIMEOUT = env_int("RACINE_STATEMENT_TIMEOUT", 60, minimum=1)
# A running scan writes a heartbeat after every batch; the reaper fails runs silent for longer than this.
RACINE_SCAN_HEARTBEAT_TIMEOUT = env_int("RACINE_SCAN_HEARTBEAT_TIMEOUT", 300, minimum=1)
RACINE_SCAN_REAPER_INTERVAL = env_int("RACINE_SCAN_REAPER_INTERVAL", 60, minimum=1)
# A queued run whose task message is this long past due, with nothing waiting on its queue, is taken for lost by
# the broker (e.g. Redis restarted without persistence): the reaper sends it once more, then fails it.
RACINE_RUN_QUEUED_TIMEOUT = env_int("RACINE_RUN_QUEUED_TIMEOUT", 300, minimum=1)
# How long a dispatcher holds an event it is delivering: past it (its worker died), another delivers it again.
# Longer than the slowest subscriber takes, or a slow delivery is made twice.
RACINE_EVENT_CLAIM_TIMEOUT = env_int("RACINE_EVENT_CLAIM_TIMEOUT", 300, minimum=1)
RACINE_SCAN_BATCH_SIZE = env_int("RACINE_SCAN_BATCH_SIZE", 2000, minimum=1)
# RACINE_REFERENCE_CACHE_DIR: where the detection engine keeps its built reference tables (default
# ~/.cache/racine/reference, "off" for none). The engine is a library without Django and reads it itself
# (scanning/detection/reference/cache.py): the folder must be owned by the process's user and writable by no one else.
