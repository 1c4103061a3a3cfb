"""The one settings module of machidata.

Every knob is read from the environment once, here, with a default and a comment. ``docs/settings.md``
documents each ``MACHIDATA_*``/``DATABASE_URL`` name that appears in this file (a test checks that).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets Django's generic classes be subscripted at run time (ModelAdmin[Job], QuerySet[Dataset]) for mypy.
django_stubs_ext.monkeypatch()


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in _env(name, default).split(",") if part.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent

# Where machidata keeps everything it writes: the SQLite database, the lake, uploads, the job queue,
# the generated secret key and the cache. One folder so a backup is one copy.
MACHIDATA_HOME = Path(_env("MACHIDATA_HOME", str(Path.cwd() / "var"))).resolve()

# Production mode: refuses a missing/short/known secret key, turns DEBUG off and cookies secure.
MACHIDATA_PRODUCTION = _env_bool("MACHIDATA_PRODUCTION", False)

# Debug pages; never on in production.
DEBUG = _env_bool("MACHIDATA_DEBUG", False) and not MACHIDATA_PRODUCTION

# Host names the server answers to, comma separated.
ALLOWED_HOSTS = _env_list("MACHIDATA_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")

# Origins trusted for CSRF when served behind a proxy (e.g. https://data.city.example.lg.jp).
CSRF_TRUSTED_ORIGINS = _env_list("MACHIDATA_CSRF_TRUSTED_ORIGINS", "")

# Upper bound on an uploaded file in bytes (default 2 GiB); larger uploads are refused with a message.
MACHIDATA_MAX_UPLOAD_BYTES = int(_env("MACHIDATA_MAX_UPLOAD_BYTES", str(2 * 1024**3)))
# How many imports one person may have waiting or running at once (more are refused with a message).
MACHIDATA_INGEST_PER_USER = int(_env("MACHIDATA_INGEST_PER_USER", "3"))
# The one-way publication bundle (publish/bundle.py): key paths (empty: under MACHIDATA_HOME/publish)
# and, on the public side, the 所属コード that owns imported entries.
MACHIDATA_PUBLISH_SIGNING_KEY = _env("MACHIDATA_PUBLISH_SIGNING_KEY", "")
MACHIDATA_PUBLISH_VERIFY_KEY = _env("MACHIDATA_PUBLISH_VERIFY_KEY", "")
MACHIDATA_PUBLISH_IMPORT_UNIT = _env("MACHIDATA_PUBLISH_IMPORT_UNIT", "")

# Number of items per page in lists (catalog, audit log, jobs).
MACHIDATA_PAGE_SIZE = int(_env("MACHIDATA_PAGE_SIZE", "20"))

# Name of the organisation shown in the header (city name).
MACHIDATA_CITY_NAME = _env("MACHIDATA_CITY_NAME", "熊本市")

# 全国地方公共団体コード of the city running this instance (used as the default for new entries).
MACHIDATA_LG_CODE = _env("MACHIDATA_LG_CODE", "431001")

# Run background jobs inline in the calling process (tests); the job runner is not needed then.
MACHIDATA_JOBS_IMMEDIATE = _env_bool("MACHIDATA_JOBS_IMMEDIATE", False)

# Seconds without a heartbeat after which a running job is considered dead and recovered.
MACHIDATA_JOB_STALE_SECONDS = int(_env("MACHIDATA_JOB_STALE_SECONDS", "120"))

# Log format: "json" (one JSON object per line, for collection) or "text".
MACHIDATA_LOG_FORMAT = _env("MACHIDATA_LOG_FORMAT", "json")

# Log level for machidata's own loggers.
MACHIDATA_LOG_LEVEL = _env("MACHIDATA_LOG_LEVEL", "INFO")

# Secret key: from the environment, else generated once into MACHIDATA_HOME/secret_key.
KNOWN_BAD_SECRET_KEYS = frozenset({"changeme", "secret", "django-insecure", "dev", "test", "machidata"})
_MIN_SECRET_LENGTH = 50


def _secret_key() -> str:
    key = os.environ.get("MACHIDATA_SECRET_KEY", "")
    if key:
        if MACHIDATA_PRODUCTION and (
            len(key) < _MIN_SECRET_LENGTH
            or key.lower() in KNOWN_BAD_SECRET_KEYS
            or key.startswith("django-insecure")
            or len(set(key)) < 5
        ):
            raise ImproperlyConfigured(
                "MACHIDATA_SECRET_KEY が短すぎるか、既知の値です。50文字以上のランダムな値を設定してください。"
            )
        return key
    path = MACHIDATA_HOME / "secret_key"
    if path.exists():
        return path.read_text().strip()
    if MACHIDATA_PRODUCTION:
        raise ImproperlyConfigured(
            "本番モードでは MACHIDATA_SECRET_KEY を設定してください（`machidata check` で確認できます）。"
        )
    MACHIDATA_HOME.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    # Written with owner-only permissions; the key never appears in the repository.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


SECRET_KEY = _secret_key()

INSTALLED_APPS = [
    "machidata.core.admin_site.MachidataAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "axes",  # login lockout on username + address (django-axes)
    "machidata.core",
    "machidata.access",
    "machidata.audit",
    "machidata.catalog",
    "machidata.jobs",
    "machidata.ingest.apps.IngestConfig",
    "machidata.support.apps.SupportConfig",
    "machidata.notify",
    "machidata.datarequests.apps.DataRequestsConfig",
    "machidata.publish.apps.PublishConfig",
    "machidata.privacy.apps.PrivacyConfig",
    "machidata.deid.apps.DeidConfig",
    "machidata.charts.apps.ChartsConfig",
    "machidata.prep.apps.PrepConfig",
    "machidata.portal.apps.PortalConfig",
    "machidata.surveys.apps.SurveysConfig",
    "machidata.collect.apps.CollectConfig",
    "machidata.ebpm.apps.EbpmConfig",
    "machidata.analysis.apps.AnalysisConfig",
    "machidata.console.apps.ConsoleConfig",
    "machidata.demo",
    "machidata.search.apps.SearchConfig",
    "machidata.ops.apps.OpsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "machidata.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "machidata.core.uploads.UploadLimitMiddleware",  # before CSRF: an oversize body is refused unread
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "machidata.core.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "machidata.core.middleware.ContentSecurityPolicyMiddleware",
    "machidata.core.middleware.DomainErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the Japanese lockout page
]

# ---- sign-in lockout (django-axes) ----
# After MACHIDATA_LOGIN_FAILURE_LIMIT wrong passwords for one user name from one address, that pair is
# locked for MACHIDATA_LOGIN_LOCKOUT_MINUTES; a correct password before then resets the count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
MACHIDATA_LOGIN_FAILURE_LIMIT = int(_env("MACHIDATA_LOGIN_FAILURE_LIMIT", "5"))
MACHIDATA_LOGIN_LOCKOUT_MINUTES = int(_env("MACHIDATA_LOGIN_LOCKOUT_MINUTES", "15"))
AXES_FAILURE_LIMIT = MACHIDATA_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = dt.timedelta(minutes=MACHIDATA_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
# The connection's address, as the audit log records it: a forwarded header could be forged to dodge the lockout.
AXES_CLIENT_IP_CALLABLE = "machidata.core.middleware.client_ip"
AXES_VERBOSE = False
# Successful sign-ins are in the audit log already; 管理 unlocks on the admin page registered in access.admin.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False

ROOT_URLCONF = "machidata.config.urls"
WSGI_APPLICATION = "machidata.config.wsgi.application"
ASGI_APPLICATION = "machidata.config.asgi.application"

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
                "machidata.core.context.site",
            ],
        },
    },
]

# Metadata database: SQLite under MACHIDATA_HOME by default; PostgreSQL via DATABASE_URL
# (e.g. postgresql://machidata:pw@127.0.0.1:5432/machidata).
DATABASE_URL = _env("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(MACHIDATA_HOME / "machidata.sqlite3"),
            "OPTIONS": {
                # Several processes (web workers, job runner) share the file: IMMEDIATE transactions take
                # the write lock up front so two writers queue instead of failing half-way; WAL lets
                # readers go on during a write; the busy timeout waits for the lock instead of erroring.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A cache shared by all processes (web workers and job runner): Django's database cache, no extra server.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "machidata_cache",
        "TIMEOUT": 300,
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = MACHIDATA_HOME / "static"
MEDIA_ROOT = MACHIDATA_HOME / "uploads"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if MACHIDATA_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not MACHIDATA_PRODUCTION

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:list"
LOGOUT_REDIRECT_URL = "login"

# Upload limits Django enforces before our own checks. MACHIDATA_MAX_UPLOAD_BYTES is enforced while the
# body streams in (machidata.core.uploads), then files go to a temporary file as usual.
FILE_UPLOAD_HANDLERS = [
    "machidata.core.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# HTTPS: on by default in production (HSTS, redirect to https, cookies only over TLS). A city that
# serves the closed network over plain HTTP sets MACHIDATA_HTTPS=0 and `machidata check` says so.
MACHIDATA_HTTPS = _env_bool("MACHIDATA_HTTPS", MACHIDATA_PRODUCTION)
MACHIDATA_HSTS_SECONDS = int(_env("MACHIDATA_HSTS_SECONDS", "31536000"))
# Behind a reverse proxy that terminates TLS and sets X-Forwarded-Proto (only if the proxy always sets it).
MACHIDATA_TRUST_X_FORWARDED_PROTO = _env_bool("MACHIDATA_TRUST_X_FORWARDED_PROTO", False)
SESSION_COOKIE_SECURE = MACHIDATA_HTTPS
CSRF_COOKIE_SECURE = MACHIDATA_HTTPS
SECURE_SSL_REDIRECT = MACHIDATA_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's health check may stay on plain HTTP
SECURE_HSTS_SECONDS = MACHIDATA_HSTS_SECONDS if MACHIDATA_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = MACHIDATA_HTTPS  # names under this host are ours too
# Not on browsers' HSTS preload list: inside LG-WAN it does not apply, and for the internet-side portal
# joining it is the city's decision (hstspreload.org), not a default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if MACHIDATA_TRUST_X_FORWARDED_PROTO:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if MACHIDATA_PRODUCTION and not MACHIDATA_HTTPS:
    # Plain HTTP inside the closed network is a decision `machidata check` reports, not a warning per start.
    SILENCED_SYSTEM_CHECKS += ["security.W004", "security.W008", "security.W012", "security.W016"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "machidata.core.logging.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "machidata.core.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(actor)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": MACHIDATA_LOG_FORMAT if MACHIDATA_LOG_FORMAT in {"json", "text"} else "json",
            "filters": ["request"],
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "machidata": {"handlers": ["console"], "level": MACHIDATA_LOG_LEVEL, "propagate": False},
        "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

if MACHIDATA_PRODUCTION and not DATABASE_URL and not MACHIDATA_HOME.exists():
    raise ImproperlyConfigured(f"MACHIDATA_HOME ({MACHIDATA_HOME}) がありません。")

# ---- jobs (background work) ----
# Redis URL of the job queue in production (e.g. redis://127.0.0.1:6379/0; needs the `redis` package);
# empty = the embedded default, a SQLite queue file that needs no extra server.
MACHIDATA_REDIS_URL = _env("MACHIDATA_REDIS_URL", "")

# The SQLite file of the job queue (used when MACHIDATA_REDIS_URL is empty).
MACHIDATA_JOBS_QUEUE_FILE = Path(_env("MACHIDATA_JOBS_QUEUE_FILE", str(MACHIDATA_HOME / "jobs.sqlite3")))

# Jobs run at the same time by one job runner (`machidata worker`, and the one `machidata serve` starts).
MACHIDATA_JOB_WORKERS = int(_env("MACHIDATA_JOB_WORKERS", "2"))

# Longest pause in seconds between two looks at an empty queue: smaller starts jobs sooner, costs a query.
MACHIDATA_JOB_POLL_SECONDS = float(_env("MACHIDATA_JOB_POLL_SECONDS", "1"))

# Seconds the job runner waits for running jobs to finish when stopped before leaving them (they are
# then marked failed, so a restart never leaves them "running").
MACHIDATA_JOB_SHUTDOWN_SECONDS = int(_env("MACHIDATA_JOB_SHUTDOWN_SECONDS", "10"))

# ---- data: lake and query engine ----
# DuckDB threads per query (the embedded default shares two cores with the web server).
MACHIDATA_ENGINE_THREADS = int(_env("MACHIDATA_ENGINE_THREADS", "2"))

# DuckDB memory limit per query, in DuckDB's notation (e.g. 1GB, 512MB).
MACHIDATA_ENGINE_MEMORY_LIMIT = _env("MACHIDATA_ENGINE_MEMORY_LIMIT", "1GB")

# Seconds a query from a page or the API may run before it is stopped with a message.
MACHIDATA_ENGINE_TIMEOUT_S = float(_env("MACHIDATA_ENGINE_TIMEOUT_S", "30"))

# Most rows one page or API call returns (downloads are not capped by this).
MACHIDATA_ENGINE_MAX_ROWS = int(_env("MACHIDATA_ENGINE_MAX_ROWS", "10000"))

# Seconds a query result (/api/v1/query, charts) stays cached, keyed by (user, table version, query);
# 0 switches the result cache off. Versions never change, so this only bounds the cache's size.
MACHIDATA_QUERY_CACHE_SECONDS = int(_env("MACHIDATA_QUERY_CACHE_SECONDS", "600"))

# SQL console (/sql/, /api/v1/sql): seconds one statement may run before its worker process is killed.
MACHIDATA_SQL_TIMEOUT_S = float(_env("MACHIDATA_SQL_TIMEOUT_S", "30"))

# SQL console: DuckDB's memory limit per statement in MB; the worker process's address space is
# capped at this plus 1 GB (the interpreter and DuckDB's own reservations).
MACHIDATA_SQL_MEMORY_MB = int(_env("MACHIDATA_SQL_MEMORY_MB", "512"))

# SQL console: statements running at once on this server (each is a process of its own); one per person.
MACHIDATA_SQL_CONCURRENCY = int(_env("MACHIDATA_SQL_CONCURRENCY", "2"))

# SQL console: most rows one statement shows (the answer says when it was cut).
MACHIDATA_SQL_MAX_ROWS = int(_env("MACHIDATA_SQL_MAX_ROWS", "1000"))

# Seconds a download (export of a whole version) may run.
MACHIDATA_EXPORT_TIMEOUT_S = float(_env("MACHIDATA_EXPORT_TIMEOUT_S", "600"))

# ---- notifications (お知らせ) ----
# Also e-mail each notification to recipients with an address on file (the in-app notice is always made).
MACHIDATA_NOTIFY_EMAIL = _env_bool("MACHIDATA_NOTIFY_EMAIL", False)

# Django e-mail backend: the console (default, prints the mail), the file backend (into
# MACHIDATA_HOME/mail) or django.core.mail.backends.smtp.EmailBackend with the city's mail relay.
EMAIL_BACKEND = _env("MACHIDATA_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = MACHIDATA_HOME / "mail"

# The mail relay for the SMTP backend (host and port).
EMAIL_HOST = _env("MACHIDATA_EMAIL_HOST", "localhost")
EMAIL_PORT = int(_env("MACHIDATA_EMAIL_PORT", "25"))

# Seconds to wait for the mail server before an e-mail counts as failed (it is tried again later).
EMAIL_TIMEOUT = int(_env("MACHIDATA_EMAIL_TIMEOUT", "10"))

# How many times a notice's e-mail is tried (after the commit, then by the jobs) before it is given up;
# the notice itself always stays in machidata.
MACHIDATA_EMAIL_MAX_ATTEMPTS = int(_env("MACHIDATA_EMAIL_MAX_ATTEMPTS", "10"))

# Sender address of notification e-mails.
DEFAULT_FROM_EMAIL = _env("MACHIDATA_EMAIL_FROM", "machidata@localhost")

# Address of this site put before links in e-mails (e.g. https://data.city.example.lg.jp); empty = path only.
MACHIDATA_SITE_URL = _env("MACHIDATA_SITE_URL", "")

# ---- search ----
# Folder of the catalog search index (outside the metadata database); empty = MACHIDATA_HOME/search.
MACHIDATA_SEARCH_DIR = _env("MACHIDATA_SEARCH_DIR", "")

# Audit seals are also appended to this file, outside the database (empty = MACHIDATA_HOME/audit-seals.jsonl);
# point it at write-once storage or a different machine's share where the city has one.
MACHIDATA_AUDIT_SEAL_FILE = _env("MACHIDATA_AUDIT_SEAL_FILE", "")
# Events are sealed once they are this many seconds old (a transaction still open then would be sealed out).
MACHIDATA_AUDIT_SEAL_GRACE_SECONDS = int(_env("MACHIDATA_AUDIT_SEAL_GRACE_SECONDS", "300"))

# ---- publication ----
# 決裁 routes as JSON (route name → list of steps; see machidata/publish/routes.py); empty = the defaults
# (full: 所管課長 → データ戦略課 → 個人情報担当 when personal data is involved; routine; withdraw).
MACHIDATA_PUBLICATION_ROUTES = json.loads(_env("MACHIDATA_PUBLICATION_ROUTES", "{}") or "{}")

# 所属コード of the unit consulted on personal data in the publication route (個人情報保護担当).
MACHIDATA_PRIVACY_UNIT_CODE = _env("MACHIDATA_PRIVACY_UNIT_CODE", "")

# ---- privacy ----
# 利用申請 routes as JSON, same shape as MACHIDATA_PUBLICATION_ROUTES; empty = the default
# (申請者の課長 → 所管課（課長または編集担当）の決定; see machidata/privacy/services.py).
MACHIDATA_ACCESS_REQUEST_ROUTES = json.loads(_env("MACHIDATA_ACCESS_REQUEST_ROUTES", "{}") or "{}")
# 仮名加工 (machidata/deid): folder of the per-release HMAC keys, outside the lake (empty =
# MACHIDATA_HOME/keys/deid; 0700, each key file 0600), and the largest extract read in one run.
# The privacy officer, who alone sees the keys' ids and the 加工方法等情報, is an 編集 or 管理 member of
# the unit MACHIDATA_PRIVACY_UNIT_CODE above.
MACHIDATA_DEID_KEY_DIR = _env("MACHIDATA_DEID_KEY_DIR", "")
MACHIDATA_DEID_MAX_ROWS = int(_env("MACHIDATA_DEID_MAX_ROWS", "2000000"))

# ---- collection ----
# Folder under which scheduled imports may read (each import names a sub-folder; nothing outside is
# read); empty = MACHIDATA_HOME/imports. Mount the file share (共有フォルダ) here.
MACHIDATA_IMPORT_ROOT = _env("MACHIDATA_IMPORT_ROOT", "")
# Hosts that scheduled imports may fetch from by URL or from another CKAN portal, comma-separated
# ("opendata.city.local", "files.city.local:8080"; a leading dot allows sub-domains: ".city.local").
# Empty = URL and CKAN imports are off. Nothing else is ever fetched, not even after a redirect.
MACHIDATA_IMPORT_URL_HOSTS = [
    h.strip().lower() for h in _env("MACHIDATA_IMPORT_URL_HOSTS", "").split(",") if h.strip()
]
# Seconds to wait for a URL import's server (to connect and between received blocks).
MACHIDATA_IMPORT_URL_TIMEOUT = float(_env("MACHIDATA_IMPORT_URL_TIMEOUT", "30"))
