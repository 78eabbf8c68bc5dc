"""Production: everything from the environment, and no start without what is required.

Required: ``SECRET_KEY``, ``ALLOWED_HOSTS``, ``DATABASE_URL`` and a cache (``REDIS_URL`` or
``CACHE_URL``). Optional: ``SEARCH_BACKEND`` (``postgres``, the default when the database
is PostgreSQL, or ``whoosh``), ``CSRF_TRUSTED_ORIGINS``, ``SECURE_SSL_REDIRECT`` (default
on), ``SECURE_HSTS_SECONDS`` (default one year), ``TRUST_X_FORWARDED_PROTO`` (set to 1
behind a proxy that sets it). ``.env.example`` documents each. Static files are served
by WhiteNoise, gzip-compressed with content-hashed names and far-future
caching; ``manage.py check --deploy --fail-level WARNING`` passes under these settings.
"""

import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATA_DIR, HEALTHLIB_EMERGENCY_NUMBER, MIDDLEWARE, tune_sqlite


def required(name):
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} must be set in the environment for production; see .env.example")
    return value


def flag(name, default):
    return os.environ.get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


CACHE_TIMEOUT = float(os.environ.get("HEALTHLIB_CACHE_TIMEOUT", "0.25"))  # seconds, per Redis connect or reply
FILE_CACHE_MAX_ENTRIES = int(os.environ.get("HEALTHLIB_FILE_CACHE_MAX_ENTRIES", "50000"))


def cache_settings(url, prefix):
    """A Django cache from a URL: redis[s]://… (several machines) or file:///path (one machine).

    Not local memory: each worker process would keep its own pages and counters, so an
    edit seen by one worker would leave the others serving the old page.
    """
    if url.startswith(("redis://", "rediss://", "unix://")):
        # Short socket timeouts: with Redis unreachable, a page is served uncached within a
        # fraction of a second (healthlib.pagecache.CACHE_ERRORS) rather than hanging a worker.
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix,
                "OPTIONS": {"socket_connect_timeout": CACHE_TIMEOUT, "socket_timeout": CACHE_TIMEOUT}}
    if url.startswith("file://"):
        # An explicit cap (Django's default is 300 entries): when full, a third of the
        # entries are culled. Page keys are bounded by the real pages (healthlib.pagecache),
        # so the cap holds every page of a large library. Redis: see deploy/redis.conf.
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": f"{url[7:].rstrip('/')}/{prefix}",
                "OPTIONS": {"MAX_ENTRIES": FILE_CACHE_MAX_ENTRIES, "CULL_FREQUENCY": 3}}
    raise ImproperlyConfigured(f"cache URL {url!r}: use redis://host:port/db (or file:///path on a single machine)")


DEBUG = False
SECRET_KEY = required("SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters: python -c 'import secrets; print(secrets.token_urlsafe(60))'")
ALLOWED_HOSTS = [host.strip() for host in required("ALLOWED_HOSTS").split(",") if host.strip()]
if not HEALTHLIB_EMERGENCY_NUMBER.strip():
    raise ImproperlyConfigured("HEALTHLIB_EMERGENCY_NUMBER is empty: pages would say 'Call  or go to the emergency room'; "
                               "leave it unset for 911 or give your country's number")
CSRF_TRUSTED_ORIGINS = [origin.strip() for origin in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if origin.strip()]

DATABASES = {
    "default": tune_sqlite(dj_database_url.parse(
        required("DATABASE_URL"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    ))
}

CACHE_URL = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL") or required("REDIS_URL")
CACHES = {"default": cache_settings(CACHE_URL, "healthlib"), "pages": cache_settings(CACHE_URL, "healthlib-pages")}
# HEALTHLIB_PAGE_CACHE=0 renders every page afresh: only for timing first sight (benchmarks/scale_bench.py), never in production.
if not flag("HEALTHLIB_PAGE_CACHE", True):
    CACHES["pages"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}

_search = os.environ.get("SEARCH_BACKEND", "postgres" if DATABASES["default"]["ENGINE"].endswith("postgresql") else "whoosh")
HEALTHLIB_SEARCH_BACKEND = {
    "postgres": "conditions.search.postgres.SearchBackend",
    "whoosh": "conditions.search.whoosh.SearchBackend",
}.get(_search, _search)

# HTTPS and the proxy in front.
SECURE_SSL_REDIRECT = flag("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
if flag("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = flag("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = flag("SECURE_COOKIES", True)  # off only for plain-HTTP trials (make serve)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Static files: WhiteNoise (compressed, hashed names, cached for a year) right after SecurityMiddleware.
MIDDLEWARE = [*MIDDLEWARE]
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
STATIC_ROOT = os.environ.get("STATIC_ROOT", str(DATA_DIR / "static"))
MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(DATA_DIR / "media"))
# Uploaded images are served by the front server (deploy/nginx.conf); django.views.static.serve
# is, in Django's words, "grossly inefficient and probably insecure" for production.
HEALTHLIB_SERVE_MEDIA = flag("HEALTHLIB_SERVE_MEDIA", False)
