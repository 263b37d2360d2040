"""Settings, read from the environment.

Defaults give the embedded run: a SQLite file under var/, Celery tasks executed in-process and
DEBUG on. Production sets DATABASE_URL (PostgreSQL through psycopg 3), CELERY_BROKER_URL (Redis),
MEDIA_ROOT (or MEDIA_STORAGE=s3 and its bucket: media_storages) and SECRET_KEY, and turns DEBUG off.
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict:
    """Turn `postgres://user:pass@host:port/name` or `sqlite:///path` into a DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            # Persistent connections: a rating submit should not pay for a new connection.
            "CONN_MAX_AGE": int(os.environ.get("CONN_MAX_AGE", "60")),
            "CONN_HEALTH_CHECKS": True,
            # Parameters bound on the server, so psycopg prepares each query it has run
            # `prepare_threshold` times on a connection: the hot path's statements
            # (annotation/store/statements.py has the measurement) and every repeated ORM query.
            "OPTIONS": (
                {"server_side_binding": True, "prepare_threshold": int(os.environ.get("DATABASE_PREPARE_THRESHOLD", "5"))}
                if env_bool("DATABASE_SERVER_SIDE_BINDING", True) else {}
            ),
        }
    if parsed.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parsed.path or ":memory:"}
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported (use postgres:// or sqlite://)")


def embedded_secret_key(var_dir: Path) -> str:
    """The embedded run's secret key: made once at random and kept in var/secret_key (readable by
    its owner only), so no two installations share a key and a restart keeps sessions valid."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
                handle.write(secrets.token_urlsafe(50))
        except FileExistsError:  # another process made it a moment ago
            pass
    return path.read_text().strip()


VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
# Only when asked for (`make run` asks): never because the database happens to be SQLite.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if "DATABASE_URL" in os.environ:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DATABASE_URL is (a deployment)")
    SECRET_KEY = embedded_secret_key(VAR_DIR)
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files, nothing from a CDN
    "django_filters",
    "annotation",
    "jobs",
    "analysis",
    "demo",  # the demo study: needs annotation and analysis, which know nothing of it
    "modeling",
    "api",  # the REST API over all of them (/api/v1/): imported by none
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
    "config.middleware.ContentSecurityPolicyMiddleware",
    "annotation.language.EnglishUnlessAskedMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded run keeps its database and media under var/; make sure it exists.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # SQLite serializes writers; wait for the lock instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions live on the server, so logging out revokes them (a signed cookie stays valid until it
# expires, whoever holds a copy). In the database, read on every request: not cached_db, whose cache
# is each process's own memory here, so a session changed in one web process (consent binds the
# annotator, logout deletes it) was still read stale from another's. Measured with bench/soak.py
# (gunicorn, 2 processes, 6 min): with cached_db 168 of 12,139 requests met a stale session (consent
# answered by the consent page again, ratings refused with no_annotator); the revocation promised
# above would not hold across processes either.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30  # annotators return over days (several sessions, a study's weeks)
# New visitors (no study cookie) entering from one address: at most this many per window, so a script
# cannot fill a campaign with annotators. Generous: a lab's annotators may share one address.
ENTRY_RATE_LIMIT = int(os.environ.get("ENTRY_RATE_LIMIT", "120"))
ENTRY_RATE_WINDOW = int(os.environ.get("ENTRY_RATE_WINDOW", "600"))
# Researchers hold the keys to every campaign they are in: their sessions end sooner (access.py).
RESEARCHER_SESSION_AGE = int(os.environ.get("RESEARCHER_SESSION_AGE", str(8 * 60 * 60)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True

# Behind TLS (production): HTTPS only, HSTS, and the proxy's header that says a request came in
# over HTTPS (e.g. SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https" behind nginx).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", SECURE_HSTS_SECONDS > 0)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
_proxy_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = tuple(_proxy_header.split(",", 1)) if _proxy_header else None
X_FRAME_OPTIONS = "DENY"

# One upload through the API may carry a whole study: DREAM's 1,520 videos and their CSV (Django's
# default stops at 100 files). Files over 2.5 MB stream to temporary files, not memory.
DATA_UPLOAD_MAX_NUMBER_FILES = int(os.environ.get("DATA_UPLOAD_MAX_NUMBER_FILES", "2000"))
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) counts a request's fields, never its files, so the
# import's multipart body may carry videos of any size; this caps each file instead (the answer, 413,
# names the file and the limit). DREAM's 5 s 1080p clips are a few MB; 2 GiB leaves room for long sources.
INGEST_UPLOAD_MAX_BYTES = int(os.environ.get("INGEST_UPLOAD_MAX_BYTES", str(2 * 1024**3)))
# Server folders the import page may read videos from (analysis.ingest.folder_checked): absolute paths,
# separated by the OS path separator (":"); empty, the default, allows none. Nothing outside them is read.
INGEST_FOLDERS = [p for p in os.environ.get("INGEST_FOLDERS", "").split(os.pathsep) if p.strip()]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

# English unless an annotator page says otherwise: each campaign sets its annotators' language
# (annotation.language, activated per request by AnnotatorLanguageMiddleware's default and the annotator
# views); staff pages and the API stay in English.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# The compiled catalogs (.mo) are committed beside their .po so `make run` and the image need no gettext;
# tests/annotation/test_i18n.py fails when the two disagree.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))


def media_storages(environ) -> tuple[dict, str, str]:
    """STORAGES, the media delivery and the object store's origin, from MEDIA_STORAGE / MEDIA_DELIVERY.

    MEDIA_STORAGE=local (the default: MEDIA_ROOT, and exports stay in their job's folder) or s3
    (videos, posters and dataset exports in one bucket through django-storages: MEDIA_S3_BUCKET,
    MEDIA_S3_ENDPOINT_URL for minio or any other S3 service, MEDIA_S3_REGION, MEDIA_S3_ACCESS_KEY_ID /
    MEDIA_S3_SECRET_ACCESS_KEY or the host's own AWS credentials, MEDIA_SIGNED_URL_SECONDS).
    MEDIA_DELIVERY says who sends the bytes of /media/ once Django has checked the request
    (annotation.streaming): django (the default with local storage), x-accel (nginx, from the same
    folder: docker/nginx.conf's internal location) or signed-url (the default with s3: a redirect to
    a short-lived presigned URL of the bucket).
    """
    kind = environ.get("MEDIA_STORAGE", "local").strip().lower()
    if kind not in {"local", "s3"}:
        raise ImproperlyConfigured(f"MEDIA_STORAGE must be local or s3, not {kind!r}")
    delivery = environ.get("MEDIA_DELIVERY", "signed-url" if kind == "s3" else "django").strip().lower()
    allowed = {"local": {"django", "x-accel"}, "s3": {"signed-url"}}[kind]
    if delivery not in allowed:
        raise ImproperlyConfigured(
            f"MEDIA_DELIVERY={delivery} does not go with MEDIA_STORAGE={kind}: use {' or '.join(sorted(allowed))} "
            "(nginx's X-Accel reads the media folder; a bucket's files are fetched by signed URL, never streamed through Django)")
    storages = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    if kind == "local":
        storages["default"] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
        return storages, delivery, ""
    bucket = environ.get("MEDIA_S3_BUCKET", "")
    if not bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET")
    endpoint = environ.get("MEDIA_S3_ENDPOINT_URL", "") or None
    region = environ.get("MEDIA_S3_REGION", "us-east-1")
    s3 = {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": region,
        "access_key": environ.get("MEDIA_S3_ACCESS_KEY_ID") or None,
        "secret_key": environ.get("MEDIA_S3_SECRET_ACCESS_KEY") or None,
        # Short-lived: a link copied out of a page stops working soon after (the page asks again).
        "querystring_expire": int(environ.get("MEDIA_SIGNED_URL_SECONDS", "300")),
        "signature_version": "s3v4",
        "addressing_style": environ.get("MEDIA_S3_ADDRESSING_STYLE", "path" if endpoint else "auto"),
        "file_overwrite": True,  # names are content hashes: the same name is the same bytes
        "default_acl": None,  # private objects; only signed URLs read them
    }
    # Served like /media/ under local storage: content-named files never change (annotation.streaming).
    media_objects = {"CacheControl": "private, max-age=31536000, immutable"}
    storages["default"] = {"BACKEND": "annotation.s3.MediaS3Storage", "OPTIONS": {**s3, "location": "media", "object_parameters": media_objects}}
    storages["exports"] = {"BACKEND": "annotation.s3.PrivateS3Storage", "OPTIONS": {**s3, "location": "exports"}}
    origin = endpoint or f"https://{bucket}.s3.{region}.amazonaws.com"
    parsed = urlparse(origin)
    return storages, delivery, f"{parsed.scheme}://{parsed.netloc}"


STORAGES, MEDIA_DELIVERY, MEDIA_ORIGIN = media_storages(os.environ)
# X-Accel: nginx's internal location that aliases MEDIA_ROOT (docker/nginx.conf).
MEDIA_ACCEL_PREFIX = os.environ.get("MEDIA_ACCEL_PREFIX", "/_protected_media/")


def content_security_policy(media_origin: str = "") -> str:
    """Content-Security-Policy (config.middleware): scripts from this site only, never inline. Styles may
    be inline: plotly.js writes its own <style> elements. Forms may post to MTurk's externalSubmit.
    Under MEDIA_STORAGE=s3 the player follows /media/'s redirect to the bucket: its origin is allowed
    for media and images (posters), nothing else."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        " ".join(["img-src 'self' data: blob:", media_origin]).strip(),
        " ".join(["media-src 'self' blob:", media_origin]).strip(),
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
        "form-action 'self' https://www.mturk.com https://workersandbox.mturk.com",
    ])


CONTENT_SECURITY_POLICY = content_security_policy(MEDIA_ORIGIN)

REST_FRAMEWORK = {
    # A token for scripts (`manage.py api_token USERNAME`), the browser's login for pages. The token
    # comes first so an anonymous request is answered 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every view names its guard (annotation.guards, api.permissions); one that forgets is for superusers only.
    "DEFAULT_PERMISSION_CLASSES": ["annotation.guards.SuperuserOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only; the video upload takes multipart itself (api.views.videos).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend", "rest_framework.filters.OrderingFilter"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    # Every API error in one JSON shape: {"code": ..., "error": ...}.
    "EXCEPTION_HANDLER": "annotation.errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DREAM platform API",
    "DESCRIPTION": "Campaigns, videos, annotators, sessions, attempts, ratings, analyses and the jobs behind them. "
    "Errors are {\"code\", \"error\"}; a campaign you cannot see answers 404.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["api.schema.only_api_v1"],
    # Separate request and response components: uploads (multipart) and read-only fields stay right.
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status` or a `role`: each choice set gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "jobs.models.Job.Status",
        "SessionStatusEnum": "annotation.models.AnnotationSession.Status",
        "VideoRoleEnum": "annotation.models.Video.Role",
        "MemberRoleEnum": "annotation.models.CampaignMembership.Role",
    },
    # Swagger UI asks validator.swagger.io about the schema unless told not to: nothing leaves the site.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True, "validatorUrl": None},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: with no broker the tasks run in-process (the embedded run and most tests).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL or None)
# A worker killed mid-task must not lose the task: acknowledge only after it ran.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "600"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # How long an unacknowledged task waits before Redis hands it to another worker (a killed one's).
    "visibility_timeout": _VISIBILITY_TIMEOUT,
    # How often a worker looks for such tasks: every restore interval, a third of the timeout (at
    # most 10 s, at least 1 s). kombu 5.7 otherwise looks only every 10th interval (about 100 s),
    # and a worker started just before a killed one's task became visible waited that long.
    "unacked_restore_interval": min(10, max(1, _VISIBILITY_TIMEOUT // 3)),
    "unacked_restore_throttle": 1,
}
# Each job's files (jobs.artifacts: Parquet and JSON only): with workers on several hosts, a volume
# they all mount at this path.
JOBS_ARTIFACT_ROOT = Path(os.environ.get("JOBS_ARTIFACT_ROOT", VAR_DIR / "jobs"))
# Training and benchmark jobs (modeling) run on a queue of their own: jobs.tasks.enqueue_job sends every
# stage of a kind to its JobKind.queue, and modeling's kinds name TRAINING_QUEUE. A worker consumes the
# default queue only unless told otherwise, so the web host's `celery -A config worker` never takes a
# training; a GPU host runs `celery -A config worker -Q training --concurrency 1` (docker/compose.yml: trainer).
CELERY_TASK_DEFAULT_QUEUE = "celery"
TRAINING_QUEUE = os.environ.get("TRAINING_QUEUE", "training")
# Trained models' folders (modeling.serving: model.json and the method's files), one per model.
MODELS_ROOT = Path(os.environ.get("MODELS_ROOT", VAR_DIR / "models"))
# A video sent to a model's predict endpoint: at most this many bytes (the answer names the limit).
PREDICT_UPLOAD_MAX_BYTES = int(os.environ.get("PREDICT_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
ANALYSIS_REFRESH_MINUTES = int(os.environ.get("ANALYSIS_REFRESH_MINUTES", "15"))
CELERY_BEAT_SCHEDULE = {
    "release-abandoned-sessions": {
        "task": "annotation.tasks.release_abandoned_sessions",
        "schedule": timedelta(minutes=5),
    },
    "refresh-analyses": {
        "task": "analysis.tasks.refresh_open_campaigns",
        "schedule": timedelta(minutes=ANALYSIS_REFRESH_MINUTES),
    },
    "unlist-videos-missing-files": {
        "task": "annotation.tasks.videos_missing_unlist_open",
        "schedule": timedelta(minutes=10),
    },
    "clear-expired-sessions": {
        "task": "annotation.tasks.sessions_clear_expired",
        "schedule": timedelta(hours=24),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
