"""Quorum settings, read from the environment.

One settings module for every deployment. ``QUORUM_ENV=production`` turns on the
production checks (a real ``SECRET_KEY`` is required, HTTPS settings on). Without it
Quorum runs on the embedded default: SQLite under ``var/`` and a filesystem broker,
so one laptop with no services runs the web app, a Celery worker and beat.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QUORUM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


PRODUCTION = env_str("QUORUM_ENV", "development") == "production"
DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY").strip()
    if PRODUCTION and len(key) < 50:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when QUORUM_ENV=production (50 or more random characters)."
        )
    if key:
        return key
    # Development: generate one key per checkout, once, and keep it out of git.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()


def _encryption_key() -> str:
    """Fernet key for secrets stored in the database (judge API keys)."""
    key = env_str("QUORUM_ENCRYPTION_KEY")
    if key:
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured(
                "QUORUM_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded bytes)."
            ) from None
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("QUORUM_ENCRYPTION_KEY must be set when QUORUM_ENV=production.")
    path = VAR_DIR / "encryption_key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


QUORUM_ENCRYPTION_KEY = _encryption_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "template_partials",
    "csp",
    "axes",
    "annotate",
    "evals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "quorum.middleware.HtmxLoginRedirectMiddleware",
    "quorum.middleware.ApiErrorFormatMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "quorum.urls"
WSGI_APPLICATION = "quorum.wsgi.application"

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
                "csp.context_processors.nonce",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------

DEFAULT_SQLITE_PATH = VAR_DIR / "quorum.sqlite3"
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while a worker writes; IMMEDIATE transactions
    # take the write lock up front so concurrent writers queue on the busy timeout
    # instead of failing with "database is locked" half-way through.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so a test's Celery worker process can open the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_quorum.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # runserver (make run, run_all) serves each request on a new thread, and a thread's
    # persistent connection outlives it: PostgreSQL ran out of connections ("too many
    # clients"). Under runserver every request closes its connection; gunicorn and the
    # workers, whose threads live on, keep theirs.
    RUNSERVER = len(sys.argv) > 1 and sys.argv[1] == "runserver"
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if RUNSERVER else env_int("DB_CONN_MAX_AGE", 60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --- Cache (API rate limits) -------------------------------------------------------------

CACHE_URL = env_str("CACHE_URL", "locmem://")
if CACHE_URL.startswith(("redis://", "rediss://")):
    # Shared by every web process, so per-token API rate limits hold across gunicorn workers.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "reap-expired-leases": {
        "task": "annotate.tasks.reap_expired_leases",
        "schedule": 60.0,
    },
    "requeue-stale-jobs": {
        "task": "evals.tasks.requeue_stale_jobs",
        "schedule": 120.0,
    },
    "agreement-snapshots": {
        "task": "evals.tasks.enqueue_agreement_snapshots",
        "schedule": 60.0,
    },
    "run-due-sampling-rules": {
        "task": "evals.tasks.run_due_sampling_rules",
        "schedule": 60.0,
    },
    "check-alerts": {
        "task": "evals.tasks.check_alerts",
        "schedule": float(env_int("QUORUM_ALERT_CHECK_SECONDS", 300)),
    },
    "refresh-stale-leaderboards": {
        "task": "evals.tasks.refresh_stale_leaderboards",
        "schedule": 600.0,
    },
    "expire-exports": {
        "task": "evals.tasks.expire_exports",
        "schedule": 3600.0,
    },
    "remove-stale-uploads": {
        "task": "evals.tasks.remove_stale_uploads",
        "schedule": 3600.0,
    },
}

# --- Auth, sessions, security ---------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "quorum.auth_backends.ThrottledBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: after 5 failures for one username from one address, that pair is
# locked out for 15 minutes. Unknown usernames are counted exactly like known ones, so
# the answers do not tell them apart.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)
SESSION_SAVE_EVERY_REQUEST = True  # the session lasts SESSION_COOKIE_AGE after the last request
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Static files, i18n ---------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production WhiteNoise serves the files where they are (as runserver would with
# DEBUG on), so `make run` needs no collectstatic; production serves STATIC_ROOT only.
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "quorum@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Quorum ---------------------------------------------------------------------------

QUORUM_DEFAULT_LEASE_SECONDS = env_int("QUORUM_DEFAULT_LEASE_SECONDS", 15 * 60)

# Ingest: limits on what comes in, and how files are cut into chunks for the workers.
QUORUM_UPLOAD_MAX_BYTES = env_int("QUORUM_UPLOAD_MAX_BYTES", 512 * 1024 * 1024)
QUORUM_API_MAX_BODY_BYTES = env_int("QUORUM_API_MAX_BODY_BYTES", 20 * 1024 * 1024)
QUORUM_INGEST_MAX_LINE_BYTES = env_int("QUORUM_INGEST_MAX_LINE_BYTES", 1024 * 1024)
QUORUM_INGEST_MAX_FIELD_CHARS = env_int("QUORUM_INGEST_MAX_FIELD_CHARS", 200_000)
QUORUM_INGEST_MAX_DEPTH = env_int("QUORUM_INGEST_MAX_DEPTH", 20)
QUORUM_INGEST_MAX_REPORTED = env_int("QUORUM_INGEST_MAX_REPORTED", 1000)
QUORUM_INGEST_CHUNK_LINES = env_int("QUORUM_INGEST_CHUNK_LINES", 20_000)
QUORUM_INGEST_BATCH = env_int("QUORUM_INGEST_BATCH", 5000)
# Pause (seconds) after each batch: only for tests that must kill a worker mid-chunk.
QUORUM_INGEST_THROTTLE_SECONDS = float(env_str("QUORUM_INGEST_THROTTLE_SECONDS", "0") or 0)

# Exports: files are deleted this many days after their job finished (0: kept for ever).
QUORUM_EXPORT_RETENTION_DAYS = env_int("QUORUM_EXPORT_RETENTION_DAYS", 30)

# Sampling: items are added in batches, one transaction each.
QUORUM_SAMPLING_BATCH = env_int("QUORUM_SAMPLING_BATCH", 1000)
# Pause (seconds) after each batch: only for tests that must kill a worker mid-run.
QUORUM_SAMPLING_THROTTLE_SECONDS = float(env_str("QUORUM_SAMPLING_THROTTLE_SECONDS", "0") or 0)
# Alert webhooks to private or loopback addresses only when an admin allows it.
QUORUM_WEBHOOK_ALLOW_PRIVATE = env_bool("QUORUM_WEBHOOK_ALLOW_PRIVATE", False)
# LLM judges: retries of 429/5xx/timeouts/dropped connections, with exponential backoff and jitter.
QUORUM_JUDGE_TRANSPORT_RETRIES = env_int("QUORUM_JUDGE_TRANSPORT_RETRIES", 4)
QUORUM_JUDGE_BACKOFF_BASE = float(env_str("QUORUM_JUDGE_BACKOFF_BASE", "1.0"))
QUORUM_JUDGE_BACKOFF_MAX = float(env_str("QUORUM_JUDGE_BACKOFF_MAX", "30.0"))
QUORUM_JUDGE_BOOTSTRAP = env_int("QUORUM_JUDGE_BOOTSTRAP", 200)
# Recompute a pairwise queue's leaderboard after every N-th judgment (beat catches the rest).
QUORUM_LEADERBOARD_EVERY = env_int("QUORUM_LEADERBOARD_EVERY", 20)
# Agreement snapshots: after every N new judgments, or when changed and older than the interval.
QUORUM_AGREEMENT_EVERY_N = env_int("QUORUM_AGREEMENT_EVERY_N", 50)
QUORUM_AGREEMENT_INTERVAL_MINUTES = env_int("QUORUM_AGREEMENT_INTERVAL_MINUTES", 60)
QUORUM_AGREEMENT_RESAMPLES = env_int("QUORUM_AGREEMENT_RESAMPLES", 200)
# Pause (seconds) after each criterion: only for tests that must kill a worker mid-report.
QUORUM_AGREEMENT_THROTTLE_SECONDS = float(env_str("QUORUM_AGREEMENT_THROTTLE_SECONDS", "0") or 0)
# Export jobs: judgments read (and Parquet row group size) per batch; pause after each batch
# (only for tests that must kill a worker mid-export).
QUORUM_EXPORT_BATCH_ROWS = env_int("QUORUM_EXPORT_BATCH_ROWS", 5000)
QUORUM_EXPORT_THROTTLE_SECONDS = float(env_str("QUORUM_EXPORT_THROTTLE_SECONDS", "0") or 0)
# PostgreSQL CSV/JSONL exports of at least this many rows, in a worker, are read as two halves
# on two connections at once.
QUORUM_EXPORT_PARALLEL_MIN_ROWS = env_int("QUORUM_EXPORT_PARALLEL_MIN_ROWS", 200_000)
