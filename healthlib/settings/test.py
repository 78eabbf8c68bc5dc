"""Fast, isolated settings for the test suite (MD5 hasher, private data directory)."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, LOGGING

SECRET_KEY = "test-only-key"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

DATA_DIR = Path(os.environ.get("HEALTHLIB_TEST_DATA_DIR") or tempfile.mkdtemp(prefix="healthlib-test-"))
DATA_DIR.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"
STATIC_ROOT = DATA_DIR / "static"
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp" / "uploads"
FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["NAME"] = str(DATA_DIR / "test.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
HEALTHLIB_SEARCH_OPTIONS = {"path": DATA_DIR / "search"}

# Each test run its own caches. Pages are not cached (tests change content inside
# transactions that never commit, so the content version would not move); the caching
# tests switch a real cache on. Request logs only when something fails.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
    "pages": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
}
LOGGING["loggers"]["healthlib.request"]["level"] = "ERROR"
# The suite searches a lot from one address; the rate-limit tests set small limits themselves.
HEALTHLIB_SEARCH_RATE_LIMIT = HEALTHLIB_SUGGEST_RATE_LIMIT = HEALTHLIB_API_RATE_LIMIT = HEALTHLIB_LOGIN_RATE_LIMIT = "100000/60"
HEALTHLIB_SEARCH_REQUEST_RATE_LIMIT = "100000/60"
