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
from csp.constants import NONE, SELF
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
# An import of a table another import is writing waits this long for it, then fails with the message.
MACHIDATA_LEASE_WAIT_SECONDS = float(_env("MACHIDATA_LEASE_WAIT_SECONDS", "300"))
# The one-way publication bundle (publish/bundle.py): key paths (empty: under MACHIDATA_HOME/publish)
# and, on the public side, the 所属コード that owns imported entries.
MACHIDATA_PUBLISH_SIGNING_KEY = _env("MACHIDATA_PUBLISH_SIGNING_KEY", "")
MACHIDATA_PUBLISH_VERIFY_KEY = _env("MACHIDATA_PUBLISH_VERIFY_KEY", "")
MACHIDATA_PUBLISH_IMPORT_UNIT = _env("MACHIDATA_PUBLISH_IMPORT_UNIT", "")

# Number of items per page in lists (catalog, audit log, jobs).
# Rate limits per client on the public portal, CKAN API and DCAT (see portal/ratelimit.py): limits
# notation ("300/minute"), "off" to turn one off; the store is memory:// (per process) or redis://
MACHIDATA_PUBLIC_RATE_LIMIT = _env("MACHIDATA_PUBLIC_RATE_LIMIT", "300/minute")
MACHIDATA_PUBLIC_SQL_RATE_LIMIT = _env("MACHIDATA_PUBLIC_SQL_RATE_LIMIT", "30/minute")
MACHIDATA_RATE_LIMIT_STORAGE = _env("MACHIDATA_RATE_LIMIT_STORAGE", "memory://")
MACHIDATA_PAGE_SIZE = int(_env("MACHIDATA_PAGE_SIZE", "20"))

# Name of the organisation shown in the header (city name).
MACHIDATA_CITY_NAME = _env("MACHIDATA_CITY_NAME", "熊本市")

# 全国地方公共団体コード of the city running this instance (used as the default for new entries).
MACHIDATA_LG_CODE = _env("MACHIDATA_LG_CODE", "431001")

# Run background jobs inline in the calling process (tests); the job runner is not needed then.
MACHIDATA_JOBS_IMMEDIATE = _env_bool("MACHIDATA_JOBS_IMMEDIATE", False)

# Seconds without a heartbeat after which a running job is considered dead and recovered.
MACHIDATA_JOB_STALE_SECONDS = int(_env("MACHIDATA_JOB_STALE_SECONDS", "120"))

# Longest run in seconds of a job whose kind declares no limit of its own; a job over its limit is stopped
# and marked failed. MACHIDATA_JOB_TIME_LIMITS overrides it per kind: "analysis.run=1800,ingest.upload=7200".
MACHIDATA_JOB_TIME_LIMIT_SECONDS = int(_env("MACHIDATA_JOB_TIME_LIMIT_SECONDS", "3600"))
MACHIDATA_JOB_TIME_LIMITS = _env_list("MACHIDATA_JOB_TIME_LIMITS", "")

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
    "corsheaders",
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
    "machidata.standards.apps.StandardsConfig",
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
    "corsheaders.middleware.CorsMiddleware",  # before anything that answers: CORS on the public API only
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "machidata.core.middleware.RequestIdMiddleware",
    "machidata.portal.ratelimit.PublicRateLimitMiddleware",  # public surfaces only; before any database work
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",  # ETag on every whole answer; 304 for a matching If-None-Match
    "machidata.core.uploads.UploadLimitMiddleware",  # before CSRF: an oversize body is refused unread
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "machidata.core.middleware.ActorMiddleware",
    "machidata.access.partners.PartnerGateMiddleware",  # 外部協力者: only their use's data; refusals audited
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "machidata.core.middleware.ContentSecurityPolicyMiddleware",
    "machidata.core.middleware.DomainErrorMiddleware",
    "machidata.access.signin.SsoEnforcedMiddleware",  # MACHIDATA_SSO_ENFORCED: admin login → the sign-in page
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the Japanese lockout page
]

# ---- CORS (django-cors-headers) ----
# The public read-only surfaces may be read from any web page (a citizen's app, a research notebook, a
# national harvester in a browser): the CKAN Action API, DCAT and the portal's pages and files. Never
# with credentials, never the staff pages or /api/v1.
CORS_URLS_REGEX = r"^/(api/(3/)?action/|open/|catalog\.(ttl|rdf|jsonld)$)"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ("GET", "HEAD", "OPTIONS", "POST")  # CKAN's actions accept POST (a JSON body), read-only
CORS_PREFLIGHT_MAX_AGE = 86400

# ---- sign-in lockout (django-axes) ----
# After MACHIDATA_LOGIN_FAILURE_LIMIT wrong passwords for one user name from one address, that pair is
# locked for MACHIDATA_LOGIN_LOCKOUT_MINUTES; a correct password before then resets the count.
# Local passwords first (they work while the directory is down), then the city's directory (LDAP / AD),
# then OpenID Connect; each directory backend is off until configured (see "sign-in with the directory").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "machidata.access.backends.LocalPasswordBackend",
    "machidata.access.backends.LdapBackend",
    "machidata.access.backends.OidcBackend",
]
MACHIDATA_LOGIN_FAILURE_LIMIT = int(_env("MACHIDATA_LOGIN_FAILURE_LIMIT", "5"))
MACHIDATA_LOGIN_LOCKOUT_MINUTES = int(_env("MACHIDATA_LOGIN_LOCKOUT_MINUTES", "15"))
AXES_FAILURE_LIMIT = MACHIDATA_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = dt.timedelta(minutes=MACHIDATA_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "core/locked_out.html"
# The connection's address, as the audit log records it: a forwarded header could be forged to dodge the lockout.
AXES_CLIENT_IP_CALLABLE = "machidata.core.middleware.client_ip"
# The typed user name (local or directory password); an OpenID Connect callback is not counted under a
# shared empty name (it would lock everyone behind the city's proxy out of OIDC).
AXES_USERNAME_CALLABLE = "machidata.access.signin.axes_username"
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

# ---- Content-Security-Policy (django-csp) ----
# No inline scripts or styles and nothing from another origin: every JS/CSS/font file is vendored and
# served by us, charts run Vega's CSP-safe interpreter. A stored <script> that slipped past escaping
# could not run. The Django admin gets its own, looser policy (core.middleware); a view may set its own.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        **({"upgrade-insecure-requests": True} if MACHIDATA_HTTPS else {}),
    }
}
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

# Which engine runs TableQueries and recipes: duckdb (in this process, the default) or spark
# (PySpark, `pip install 'machidata[spark]'`, Java 17). machidata/engine/backends.py reads these
# variables itself (the engine is a leaf and never imports settings); they are declared here with the
# same defaults so that they are documented and checked like every other setting.
MACHIDATA_ENGINE = _env("MACHIDATA_ENGINE", "duckdb").strip().lower()
if MACHIDATA_ENGINE not in {"duckdb", "spark"}:
    raise ImproperlyConfigured("MACHIDATA_ENGINE は duckdb か spark を指定してください。")
# Spark master URL: local[2] (Spark inside this process's JVM, two threads), spark://host:7077, yarn, k8s://…
MACHIDATA_SPARK_MASTER = _env("MACHIDATA_SPARK_MASTER", "local[2]")
# Memory of the Spark driver (this process's JVM; with local[N] it runs the queries too) and of each executor.
MACHIDATA_SPARK_DRIVER_MEMORY = _env("MACHIDATA_SPARK_DRIVER_MEMORY", "1g")
MACHIDATA_SPARK_EXECUTOR_MEMORY = _env("MACHIDATA_SPARK_EXECUTOR_MEMORY", "1g")
# Partitions after a shuffle (GROUP BY, joins); small for one server, raise it for a cluster.
MACHIDATA_SPARK_SHUFFLE_PARTITIONS = int(_env("MACHIDATA_SPARK_SHUFFLE_PARTITIONS", "8"))

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
# 決裁 routes as JSON (route name → list of steps; see machidata/access/routes.py); empty = the defaults
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

# ---- sign-in with the city's directory (access/backends.py, access/directory.py) ----
# LDAP / Active Directory: off while MACHIDATA_LDAP_URL is empty ("ldap://ad.city.local", "ldaps://…:636").
MACHIDATA_LDAP_URL = _env("MACHIDATA_LDAP_URL", "")
# Use StartTLS on an ldap:// connection (ldaps:// is TLS already).
MACHIDATA_LDAP_START_TLS = _env_bool("MACHIDATA_LDAP_START_TLS", False)
# The CA certificate (PEM) the directory's TLS certificate chains to, when not in the system's store.
MACHIDATA_LDAP_CA_FILE = _env("MACHIDATA_LDAP_CA_FILE", "")
# The account that looks people up (empty = anonymous search; Active Directory needs one).
MACHIDATA_LDAP_BIND_DN = _env("MACHIDATA_LDAP_BIND_DN", "")
MACHIDATA_LDAP_BIND_PASSWORD = _env("MACHIDATA_LDAP_BIND_PASSWORD", "")
# Where people are, and the attribute that holds the user name typed on the sign-in page (AD: sAMAccountName).
MACHIDATA_LDAP_USER_BASE = _env("MACHIDATA_LDAP_USER_BASE", "")
MACHIDATA_LDAP_USERNAME_ATTRIBUTE = _env("MACHIDATA_LDAP_USERNAME_ATTRIBUTE", "uid")
# The attribute carrying the person's 所属コード (課 or 係), e.g. departmentNumber, or AD's department.
MACHIDATA_LDAP_UNIT_ATTRIBUTE = _env("MACHIDATA_LDAP_UNIT_ATTRIBUTE", "departmentNumber")
# Where groups are (groupOfNames/groupOfUniqueNames/posixGroup listing the person); empty = the person's
# memberOf attribute only (Active Directory, or OpenLDAP with the memberof overlay).
MACHIDATA_LDAP_GROUP_BASE = _env("MACHIDATA_LDAP_GROUP_BASE", "")
# Seconds to wait for the directory (to connect and for each answer) before saying it is unreachable.
MACHIDATA_LDAP_TIMEOUT = float(_env("MACHIDATA_LDAP_TIMEOUT", "5"))

# OpenID Connect (e.g. Entra ID): off while MACHIDATA_OIDC_CLIENT_ID is empty. The endpoints are those of
# the provider's discovery document (.well-known/openid-configuration).
MACHIDATA_OIDC_CLIENT_ID = _env("MACHIDATA_OIDC_CLIENT_ID", "")
MACHIDATA_OIDC_CLIENT_SECRET = _env("MACHIDATA_OIDC_CLIENT_SECRET", "")
MACHIDATA_OIDC_ISSUER = _env("MACHIDATA_OIDC_ISSUER", "")
MACHIDATA_OIDC_AUTHORIZATION_ENDPOINT = _env("MACHIDATA_OIDC_AUTHORIZATION_ENDPOINT", "")
MACHIDATA_OIDC_TOKEN_ENDPOINT = _env("MACHIDATA_OIDC_TOKEN_ENDPOINT", "")
MACHIDATA_OIDC_USERINFO_ENDPOINT = _env("MACHIDATA_OIDC_USERINFO_ENDPOINT", "")
MACHIDATA_OIDC_JWKS_ENDPOINT = _env("MACHIDATA_OIDC_JWKS_ENDPOINT", "")
MACHIDATA_OIDC_SCOPES = _env("MACHIDATA_OIDC_SCOPES", "openid email profile")
# Claims: the user name, the 所属コード and the list of groups (Entra ID: group object ids).
MACHIDATA_OIDC_USERNAME_CLAIM = _env("MACHIDATA_OIDC_USERNAME_CLAIM", "preferred_username")
MACHIDATA_OIDC_UNIT_CLAIM = _env("MACHIDATA_OIDC_UNIT_CLAIM", "department")
MACHIDATA_OIDC_GROUPS_CLAIM = _env("MACHIDATA_OIDC_GROUPS_CLAIM", "groups")

# Shared by LDAP and OIDC. Groups (LDAP DNs or OIDC group ids) whose members may sign in, comma-separated;
# empty = everyone the directory accepts.
MACHIDATA_SSO_ALLOWED_GROUPS = _env_list("MACHIDATA_SSO_ALLOWED_GROUPS", "")
# Group → role as JSON ({"cn=machidata-editors,ou=groups,…": "editor", "…": "admin"}); highest role wins,
# 閲覧 (viewer) otherwise.
MACHIDATA_SSO_ROLE_GROUPS = json.loads(_env("MACHIDATA_SSO_ROLE_GROUPS", "{}") or "{}")
# Groups whose members are 管理職 (課長級以上), comma-separated: a person in one is 管理職 at every sign-in,
# anyone else 一般職. Empty = the directory does not say: the rank set in the admin or the staff list stays.
MACHIDATA_SSO_MANAGER_GROUPS = _env_list("MACHIDATA_SSO_MANAGER_GROUPS", "")
# Directory value → 所属コード as JSON, when the directory names units differently ({"健康づくり推進課": "1234"});
# a value not listed is taken as the 所属コード itself.
MACHIDATA_SSO_UNIT_MAP = json.loads(_env("MACHIDATA_SSO_UNIT_MAP", "{}") or "{}")
# On: local passwords are refused (sign-in page, Django admin, password change), except the break-glass
# accounts below.
MACHIDATA_SSO_ENFORCED = _env_bool("MACHIDATA_SSO_ENFORCED", False)
# Local superusers who may still sign in with their password when SSO is enforced (the directory may be down).
MACHIDATA_SSO_BREAK_GLASS_USERS = _env_list("MACHIDATA_SSO_BREAK_GLASS_USERS", "")
