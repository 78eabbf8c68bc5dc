"""Settings shared by every environment.

The embedded default keeps all runtime state (SQLite database, search index, uploaded
media) under one data directory, ``var/`` unless ``HEALTHLIB_DATA_DIR`` moves it.
``DATABASE_URL`` switches the database (parsed by dj-database-url, the well-kept
library for twelve-factor database settings) without touching code.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(os.environ.get("HEALTHLIB_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",  # the PostgreSQL search backend's fields, indexes and lookups (inert on SQLite)
    "markdownx",
    "reversion",
    "axes",
    "healthlib",
    "conditions",
    "conditions.search",
]

MIDDLEWARE = [
    # Keeps the finished response of a page-cache hit, for the WSGI layer in front (healthlib.earlyhits).
    "healthlib.earlyhits.EarlyHitMiddleware",
    # First: an oversized or malformed Content-Length is refused before anything reads the body.
    "healthlib.security.RequestSizeLimitMiddleware",
    # How long the front's micro-cache may keep each response (X-Accel-Expires; deploy/nginx.conf).
    "healthlib.pagecache.FrontCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Pages carry no secrets an attacker could probe through compression (no tokens in
    # public pages; the admin's CSRF token is masked per request), so gzip them.
    "django.middleware.gzip.GZipMiddleware",
    "healthlib.requestlog.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Answers If-None-Match / If-Modified-Since with 304 from the ETag and Last-Modified set by views.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "healthlib.security.PermissionsPolicyMiddleware",
    "healthlib.security.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# Sign-in lockout (django-axes): five failures for one user name from one address lock
# that pair for 15 minutes; the right password is refused meanwhile. Attempts are kept
# in the database, so every web server sees them.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The same client address as the rate limits (X-Forwarded-For only from trusted proxies),
# so visitors behind a front server are locked out one by one, not all together.
AXES_CLIENT_IP_CALLABLE = "healthlib.ratelimit.client_address"

# Content-Security-Policy (Django's own middleware): scripts only from our origin or with
# the per-request nonce, never inline; no plugins, no framing, forms post home. Styles
# allow inline attributes (the admin uses them); scripts do not.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Request size limits: form posts (not file uploads) up to 2.5 MB, at most 2,000 fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Whole request bodies: larger ones get 413 before anything reads them
# (healthlib.security.RequestSizeLimitMiddleware; the image upload endpoint allows
# HEALTHLIB_MAX_IMAGE_BYTES + 1 MiB). Uploads above FILE_UPLOAD_MAX_MEMORY_SIZE spill to
# FILE_UPLOAD_TEMP_DIR, so it holds at most one upload (≤ 11 MiB) per busy worker, each
# deleted when its request ends.
HEALTHLIB_MAX_REQUEST_BYTES = int(os.environ.get("HEALTHLIB_MAX_REQUEST_BYTES", str(3 * 1024 * 1024)))
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp" / "uploads"
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)

ROOT_URLCONF = "healthlib.urls"

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
                "django.template.context_processors.csp",
                "healthlib.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "healthlib.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'healthlib.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}


def ip_networks(name):
    """The addresses and CIDR ranges in environment variable ``name`` (comma-separated,
    IPv4 or IPv6), as ``ipaddress`` networks. Parsed strictly, as gunicorn parses
    ``--forwarded-allow-ips``, so both read the same value the same way: ``10.0.0.5/24``
    (host bits set) and ``*`` are refused, loudly, rather than trusting the wrong hosts."""
    networks = []
    for entry in os.environ.get(name, "").split(","):
        if entry.strip():
            try:
                networks.append(ipaddress.ip_network(entry.strip()))
            except ValueError as error:
                raise ImproperlyConfigured(f"{name}: {entry.strip()!r} is not an IP address or CIDR range ({error})") from None
    return tuple(networks)


def tune_sqlite(database):
    """WAL lets readers go on while an editor saves; the timeout waits out a writer
    instead of failing with "database is locked"."""
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return database


tune_sqlite(DATABASES["default"])

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"

HEALTHLIB_CONTENT_DIR = BASE_DIR / "content"
HEALTHLIB_SEARCH_BACKEND = os.environ.get("HEALTHLIB_SEARCH_BACKEND", "conditions.search.whoosh.SearchBackend")
HEALTHLIB_SEARCH_OPTIONS = {"path": DATA_DIR / "search"}
# Lay and international terms search treats as one (conditions/search/language.py); editors extend it.
HEALTHLIB_SEARCH_SYNONYMS = os.environ.get("HEALTHLIB_SEARCH_SYNONYMS", str(BASE_DIR / "content" / "synonyms.txt"))
# Seconds one search may take before it answers with the hits it has, or "too complex"
# (conditions/search/base.py): a search holds a whole sync worker meanwhile.
HEALTHLIB_SEARCH_TIME_BUDGET = float(os.environ.get("HEALTHLIB_SEARCH_TIME_BUDGET", "0.8"))
HEALTHLIB_SITE_NAME = "Health Library"
# The number the site tells people to call in an emergency (footer, error pages, the emergency
# signs box of condition and symptom articles): 911 in the United States and Canada.
HEALTHLIB_EMERGENCY_NUMBER = os.environ.get("HEALTHLIB_EMERGENCY_NUMBER", "911")
# What public pages' Last-Modified says (healthlib/pagecache.py knows no app's models).
HEALTHLIB_PAGES_LAST_MODIFIED = "conditions.models.last_published_change"
# Medical review interval: next review due = last review + this many years (the NHS website uses 3).
HEALTHLIB_REVIEW_INTERVAL_YEARS = int(os.environ.get("HEALTHLIB_REVIEW_INTERVAL_YEARS", "3"))
HEALTHLIB_MAX_IMAGE_BYTES = int(os.environ.get("HEALTHLIB_MAX_IMAGE_BYTES", str(10 * 1024 * 1024)))
# Serve uploaded media from Django (the embedded default); a front server may take over.
# Per-client limits, "requests/seconds" (healthlib/ratelimit.py), sized for a shared address:
# patients of one hospital or one mobile carrier reach us from one address. Fifty people
# searching at once there make about 3 searches and 15 suggestion requests each a minute
# (the box asks on each pause in typing); the limits leave twice that room, while one
# client hammering is still refused. Repeat searches come from the page cache (about 2 ms),
# so only searches that run (about 30 ms each on 5,000 articles) count against the lower limit.
HEALTHLIB_SEARCH_RATE_LIMIT = os.environ.get("HEALTHLIB_SEARCH_RATE_LIMIT", "300/60")  # searches that run
HEALTHLIB_SEARCH_REQUEST_RATE_LIMIT = os.environ.get("HEALTHLIB_SEARCH_REQUEST_RATE_LIMIT", "1200/60")  # every search, cached too
# Searches (page and API together) one client may have running at once; 0 for no limit.
# Within its rate a client could otherwise hold every worker with costly searches at once;
# gunicorn's sync workers queue the rest of a crowd, so the crowd behind one address is never refused by it.
HEALTHLIB_SEARCH_CONCURRENCY = int(os.environ.get("HEALTHLIB_SEARCH_CONCURRENCY", "4"))
HEALTHLIB_SUGGEST_RATE_LIMIT = os.environ.get("HEALTHLIB_SUGGEST_RATE_LIMIT", "1500/60")
HEALTHLIB_API_RATE_LIMIT = os.environ.get("HEALTHLIB_API_RATE_LIMIT", "120/60")
# Sign-in POSTs per client, counted before any password is hashed (each hash costs ~0.4 s
# of CPU); django-axes's per-account lockout comes on top.
HEALTHLIB_LOGIN_RATE_LIMIT = os.environ.get("HEALTHLIB_LOGIN_RATE_LIMIT", "20/300")
# Front servers and load balancers whose X-Forwarded-For is believed (healthlib.ratelimit):
# addresses or CIDR ranges, comma-separated; empty (the default) trusts no one.
HEALTHLIB_TRUSTED_PROXY_IPS = ip_networks("HEALTHLIB_TRUSTED_PROXY_IPS")
HEALTHLIB_SERVE_MEDIA = os.environ.get("HEALTHLIB_SERVE_MEDIA", "1") == "1"

# Two caches: "default" (content version, rate limits) and "pages" (rendered pages,
# healthlib/pagecache.py). The embedded default keeps both in files under the data
# directory, so every worker process on the machine shares them; production points both
# at Redis (settings/production.py).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": DATA_DIR / "cache" / "default"},
    "pages": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": DATA_DIR / "cache" / "pages",
              "OPTIONS": {"MAX_ENTRIES": 20000}},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "healthlib.requestlog.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "json": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "healthlib.request": {"handlers": ["json"], "level": os.environ.get("HEALTHLIB_REQUEST_LOG_LEVEL", "INFO"), "propagate": False},
    },
}
