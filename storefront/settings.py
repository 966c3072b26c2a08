"""Settings for storefront: one module, every knob from the environment.

Two modes share this file:

* embedded (DATABASE_URL and REDIS_URL unset): SQLite under var/, local-memory
  cache, in-memory channel layer, Celery tasks run in-process after commit.
  Nothing to install; meant for trying the API on a laptop.
* full (both set): PostgreSQL, Redis cache and throttles, Celery workers on a
  broker (BROKER_URL, else REDIS_URL), channels-redis.

Every variable is documented in .env.example.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STOREFRONT_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
EMBEDDED = not (DATABASE_URL and REDIS_URL)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not (EMBEDDED or DEBUG):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set in full mode (DATABASE_URL and REDIS_URL set) "
            "unless DEBUG=true. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # Embedded/debug use: a random key kept under var/, so sessions and tokens
    # survive restarts without a secret ever living in the code base.
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "storefront.core",
    "storefront.accounts",
    "storefront.catalog",
    "storefront.orders",
    "storefront.notifications",
]

MIDDLEWARE = [
    "storefront.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Before anything that may answer on its own (WhiteNoise, CommonMiddleware),
    # so that CORS headers are on every answer to an allowed origin.
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "storefront.urls"
ASGI_APPLICATION = "storefront.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database ---------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
            conn_health_checks=True,
        )
    }
    DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Fail fast rather than hang when PostgreSQL is unreachable.
        DATABASES["default"]["OPTIONS"].setdefault(
            "connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5)
        )
        if env_bool("DB_POOL", True):
            # A bounded psycopg pool per process, shared by the web threads
            # (WEB_THREADS), the WebSocket consumers and the Celery tasks; a
            # pooled connection is checked before use, so a restarted server
            # is recovered from. (Persistent connections, CONN_MAX_AGE > 0,
            # piled up one per request thread under Django's ASGI handler:
            # the soak test saw 330 on a 100-connection server.)
            from psycopg_pool import ConnectionPool

            DATABASES["default"]["CONN_MAX_AGE"] = 0
            DATABASES["default"]["OPTIONS"]["pool"] = {
                "min_size": env_int("DB_POOL_MIN_SIZE", 2),
                "max_size": env_int("DB_POOL_MAX_SIZE", 20),
                "timeout": env_int("DB_POOL_TIMEOUT", 10),
                "check": ConnectionPool.check_connection,
            }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "storefront.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --- Cache ------------------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "storefront"),
            "TIMEOUT": env_int("CACHE_TIMEOUT", 300),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                # A cache failure must never fail a request: reads fall back to
                # the database and throttles fail open.
                "IGNORE_EXCEPTIONS": True,
                "SERIALIZER": "django_redis.serializers.pickle.PickleSerializer",
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "storefront.cache"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "storefront",
            "TIMEOUT": env_int("CACHE_TIMEOUT", 300),
        }
    }

# --- Channels ---------------------------------------------------------------
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery -----------------------------------------------------------------
BROKER_URL = env_str("BROKER_URL") or REDIS_URL
CELERY_BROKER_URL = BROKER_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Embedded mode: no broker, so tasks run in-process (they are still scheduled
# with transaction.on_commit, hence "right after commit").
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("BROKER_CONNECT_TIMEOUT", 3)
# Publishing while the broker is down: a few quick retries, then kombu's
# OperationalError, which order_dispatch() logs (the order stays undispatched
# and the dispatch sweep sends it later). Never a 500, never a long hang.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env_int("BROKER_PUBLISH_MAX_RETRIES", 2),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if BROKER_URL.startswith(("redis://", "rediss://")):
    _visibility_timeout = env_int("BROKER_VISIBILITY_TIMEOUT", 3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis has no per-connection acks: a message a worker took and never
        # acked (the worker was killed) goes back to the queue after this many
        # seconds. It must exceed the longest ETA/countdown (payment retries
        # wait up to ORDER_PAYMENT_RETRY_BACKOFF_MAX), or such tasks run twice.
        "visibility_timeout": _visibility_timeout,
        # How often a worker looks for such messages: every 100 s by default
        # (10 s x 10); a short visibility timeout needs a matching sweep.
        "unacked_restore_interval": max(1, min(10, _visibility_timeout // 2)),
        "unacked_restore_throttle": 1 if _visibility_timeout < 600 else 10,
        "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    }
CELERY_TIMEZONE = "UTC"
# Workers log through Django's LOGGING (JSON lines) instead of their own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict = {
    # Cancel orders left unpaid past ORDER_PAYMENT_TIMEOUT_MINUTES (stock back).
    "orders-expire-unpaid": {
        "task": "orders.expire_unpaid_orders",
        "schedule": float(env_int("ORDER_EXPIRY_SWEEP_SECONDS", 60)),
    },
    # Re-send process_order for pending orders the broker never took (it was
    # down when they were placed): docs/reliability.md.
    "orders-dispatch-undispatched": {
        "task": "orders.dispatch_undispatched_orders",
        "schedule": float(env_int("ORDER_DISPATCH_SWEEP_SECONDS", 30)),
    },
    # Send the confirmation e-mail of paid orders whose own task was lost
    # (broker down when they were paid, or the mail server down past its retries).
    "orders-send-missing-confirmations": {
        "task": "orders.send_missing_confirmations",
        "schedule": float(env_int("ORDER_CONFIRMATION_SWEEP_SECONDS", 300)),
    },
    # Delete idempotency keys past their IDEMPOTENCY_KEY_TTL_HOURS.
    "orders-purge-idempotency-keys": {
        "task": "orders.purge_idempotency_keys",
        "schedule": 3600.0,
    },
}

# --- Auth -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "LEEWAY": 0,
}

# Verified registration (storefront/accounts, docs/api/authentication.md).
# ACCOUNT_VERIFICATION_MAX_AGE: seconds a registration's confirmation token
# (e-mailed) stays valid; 3 days by default.
ACCOUNT_VERIFICATION_MAX_AGE = env_int("ACCOUNT_VERIFICATION_MAX_AGE", 3 * 24 * 3600)
# FRONTEND_VERIFY_URL: the link in the confirmation e-mail, with ?token=<token>
# appended: your front end's page that POSTs the token to /api/v1/auth/verify/.
# The default is that endpoint itself (POST only): set it in a deployment.
FRONTEND_VERIFY_URL = env_str("FRONTEND_VERIFY_URL", "http://127.0.0.1:8000/api/v1/auth/verify/")

# --- REST framework ---------------------------------------------------------
API_VERSIONS = ["v1", "v2"]
REST_FRAMEWORK = {
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": API_VERSIONS,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Least privilege: an endpoint that forgets its permissions denies everyone.
    "DEFAULT_PERMISSION_CLASSES": ["storefront.core.permissions.DenyAll"],
    "DEFAULT_RENDERER_CLASSES": [
        "storefront.core.renderers.ORJSONRenderer",
        "storefront.core.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "storefront.core.parsers.ORJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "storefront.core.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 20),
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["storefront.core.throttling.RateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "120/min"),
        "user": env_str("THROTTLE_USER", "600/min"),
        "auth": env_str("THROTTLE_AUTH", "10/min"),
    },
    "EXCEPTION_HANDLER": "storefront.core.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "storefront.core.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 100)

SPECTACULAR_SETTINGS = {
    "TITLE": "storefront API",
    "DESCRIPTION": (
        "A headless commerce API: catalog, reviews, checkout and orders, "
        "real-time notifications. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"],
}

# --- Internationalisation, time ---------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security ---------------------------------------------------------------
# HTTPS_ONLY is for deployments behind TLS (directly or via a proxy that sets
# X-Forwarded-Proto): secure cookies, HSTS and the HTTPS redirect go together.
HTTPS_ONLY = env_bool("HTTPS_ONLY", False)
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading is a decision per domain (all subdomains, hard to undo): opt-in,
# so check --deploy's reminder (W021) is silenced until it is taken.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
# Content-Security-Policy on every response (docs/security.md). The API's JSON
# needs none, but the HTML pages do: Swagger UI and ReDoc (assets served from
# here by drf-spectacular-sidecar; Swagger UI's start-up script is a separate
# request, not inline), the admin and the browsable API (no inline scripts;
# inline styles, hence 'unsafe-inline' for styles only). ReDoc runs its search
# in a blob: worker; its Google Fonts stylesheet is blocked (system fonts).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "worker-src": [CSP.SELF, "blob:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# CORS (django-cors-headers): browsers on these origins may call the API
# (e.g. https://shop.example.com); none by default. Credentials are JWTs in the
# Authorization header, never cookies, so credentialed CORS stays off.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "if-none-match",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ("etag", "location", "retry-after", "x-request-id")
CORS_PREFLIGHT_MAX_AGE = 3600

# --- E-mail -----------------------------------------------------------------
# Django 6.1's MAILERS (the EMAIL_* settings are deprecated); the environment
# variables keep their familiar EMAIL_* names.
EMAIL_BACKEND_PATH = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if EMBEDDED
    else "django.core.mail.backends.smtp.EmailBackend",
)
_mailer_options: dict = {}
if EMAIL_BACKEND_PATH == "django.core.mail.backends.smtp.EmailBackend":
    _mailer_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_str("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH, "OPTIONS": _mailer_options}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "storefront <no-reply@localhost>")

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = env_str("LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "storefront.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "storefront.core.logging.JSONFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT if LOG_FORMAT in {"json", "text"} else "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The access log line comes from our middleware; Django's own request
        # logger would only repeat 4xx/5xx.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# --- storefront -------------------------------------------------------------
PROBLEM_TYPE_BASE = env_str("PROBLEM_TYPE_BASE", "urn:storefront:problem:")
HEALTH_CHECK_TIMEOUT = env_int("HEALTH_CHECK_TIMEOUT", 2)
CATEGORY_MAX_DEPTH = env_int("CATEGORY_MAX_DEPTH", 5)
CSRF_FAILURE_VIEW = "storefront.core.exceptions.csrf_failure"
# Threads per web process serving HTTP requests (storefront/core/asgi.py): the
# requests a process serves at once; the rest queue. Keep it under
# DB_POOL_MAX_SIZE, whose connections the WebSocket consumers share.
WEB_THREADS = env_int("WEB_THREADS", 16)
# Anonymous cached reads answered from the event loop, before Django
# (storefront/core/replay.py); full mode only (it needs the Redis cache).
CACHE_REPLAY = env_bool("CACHE_REPLAY", True)
# Request headers, beyond host, accept and the proxies' ones, that an answer may
# depend on: each becomes part of the replay key (a deployment's own, e.g. a
# gateway's tenant header).
CACHE_REPLAY_EXTRA_KEY_HEADERS = env_list("CACHE_REPLAY_EXTRA_KEY_HEADERS", "")

# --- Notifications (WebSocket /ws/notifications/, docs/api/realtime.md) ------
# Seconds a new socket has to send its {"type": "auth"} message before 4401.
NOTIFICATIONS_AUTH_TIMEOUT = env_int("NOTIFICATIONS_AUTH_TIMEOUT", 10)
# Seconds between server heartbeats; a client silent for two of them is closed (4408).
NOTIFICATIONS_HEARTBEAT = env_int("NOTIFICATIONS_HEARTBEAT", 30)
# Seconds a push may wait on the channel layer (Redis) before it is given up and
# logged; the notification itself is already committed and served over REST.
NOTIFICATIONS_PUSH_TIMEOUT = env_int("NOTIFICATIONS_PUSH_TIMEOUT", 2)

# --- Orders (storefront/orders) ----------------------------------------------
# PAYMENT_GATEWAY: dotted path of the payment gateway class (interface in
# storefront/orders/payments.py). The default fake answers by token (tok_success,
# tok_decline, tok_transient, tok_error) and must be replaced in production.
PAYMENT_GATEWAY = env_str("PAYMENT_GATEWAY", "storefront.orders.payments.FakePaymentGateway")
# ORDER_PAYMENT_TIMEOUT_MINUTES: minutes an order may stay unpaid (pending)
# before the expiry sweep cancels it and releases its stock.
ORDER_PAYMENT_TIMEOUT_MINUTES = env_int("ORDER_PAYMENT_TIMEOUT_MINUTES", 15)
# ORDER_EXPIRY_SWEEP_SECONDS (read above, in CELERY_BEAT_SCHEDULE): seconds
# between two runs of the expiry sweep.
# ORDER_PAYMENT_MAX_RETRIES: retries of a payment on transient gateway errors;
# after the last one the order fails and its stock is released.
ORDER_PAYMENT_MAX_RETRIES = env_int("ORDER_PAYMENT_MAX_RETRIES", 5)
# ORDER_PAYMENT_RETRY_BACKOFF_MAX: cap in seconds of the exponential backoff
# (1, 2, 4... seconds with full jitter) between payment retries.
ORDER_PAYMENT_RETRY_BACKOFF_MAX = env_int("ORDER_PAYMENT_RETRY_BACKOFF_MAX", 300)
# ORDER_DISPATCH_GRACE_SECONDS: age a pending order must reach, with its
# payment task never accepted by the broker, before the dispatch sweep (every
# ORDER_DISPATCH_SWEEP_SECONDS, read above) sends it again.
ORDER_DISPATCH_GRACE_SECONDS = env_int("ORDER_DISPATCH_GRACE_SECONDS", 30)
# ORDER_CONFIRMATION_GRACE_SECONDS: age a paid order's missing confirmation
# e-mail must reach before the confirmation sweep (every
# ORDER_CONFIRMATION_SWEEP_SECONDS, read above) sends it. Longer than the
# confirmation task's own retries (5, exponential backoff: about 30 s at most).
ORDER_CONFIRMATION_GRACE_SECONDS = env_int("ORDER_CONFIRMATION_GRACE_SECONDS", 600)
# IDEMPOTENCY_KEY_TTL_HOURS: hours an Idempotency-Key is remembered (replayed).
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 24)
# IDEMPOTENCY_LOCK_TIMEOUT_SECONDS: how long a request waits for another one
# with the same Idempotency-Key to finish before answering 409
# idempotency_request_in_progress.
IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = env_int("IDEMPOTENCY_LOCK_TIMEOUT_SECONDS", 10)

# --- Catalog (storefront/catalog) --------------------------------------------
# CATALOG_CACHE_TIMEOUT: seconds a cached catalog response
# (product/category lists and details, reviews) lives in the cache; writes make
# entries stale at once anyway (generation keys), so this only bounds memory.
CATALOG_CACHE_TIMEOUT = env_int("CATALOG_CACHE_TIMEOUT", 300)
# CATALOG_IMAGE_MAX_BYTES: largest product image accepted by upload (bytes).
CATALOG_IMAGE_MAX_BYTES = env_int("CATALOG_IMAGE_MAX_BYTES", 5 * 1024 * 1024)
# CATALOG_SEARCH_TYPO_THRESHOLD: how close (0..1, pg_trgm word similarity) a
# search word must be to a product name to match despite typos; 0.5 lets one
# wrong letter in a 7-letter word through ("wirless"), pg_trgm's own default
# 0.6 does not. Set per connection (PostgreSQL only; catalog/search.py).
try:
    CATALOG_SEARCH_TYPO_THRESHOLD = float(env_str("CATALOG_SEARCH_TYPO_THRESHOLD", "0.5"))
except ValueError as exc:
    raise ImproperlyConfigured("CATALOG_SEARCH_TYPO_THRESHOLD must be a number") from exc
if IS_POSTGRES:
    _options = DATABASES["default"]["OPTIONS"]
    _options["options"] = (
        f"{_options.get('options', '')} "
        f"-c pg_trgm.word_similarity_threshold={CATALOG_SEARCH_TYPO_THRESHOLD}"
    ).strip()
