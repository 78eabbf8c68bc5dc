"""Whole-page caching for anonymous readers, shared by every web server.

Pages are stored in the ``pages`` cache (Redis in production, a file cache in the
embedded default, so every gunicorn worker shares it) under keys that carry the
*content version*: a random token in the ``default`` cache that is replaced after a
change patients can see commits (a live article, its sections, categories or related
articles; a category; a deleted image), and never for drafts. One replacement
retires every cached page on every server at once; nothing per-server has to be purged, and old
entries simply expire.

The key also carries the page-wide settings (``settings_fingerprint``), and a release
retires every page (``manage.py invalidate_page_cache``, run by the release unit and by
``make setup``), since new code may render any page differently.

A page served from this cache still costs Django's request handling and its whole
middleware stack. So the finished response of such a hit, headers included, is also kept
(``healthlib.earlyhits``) and later requests for the same address are answered by a WSGI
layer in front of Django, with two cache reads (the
content version and the response) and a log line. Search pages are not: their per-client
limits count every request.

Django's own ``cache_page`` cannot do this: its key prefix is fixed when the view is
decorated. Responses get a strong ``ETag`` (a hash of the body) and ``Last-Modified``
(the newest published article), and ``ConditionalGetMiddleware`` answers revalidations
with 304. Anonymous responses say ``Cache-Control: public, max-age=300`` so a CDN may
keep them for five minutes; signed-in staff always get a fresh page marked private.
"""

import hashlib
import logging
import threading
import time
import uuid
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.utils.cache import patch_cache_control
from django.utils.http import http_date
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

VERSION_KEY = "content-version"
CHANGED_KEY = "content-changed-at"  # when VERSION_KEY was last replaced (a Unix time)
VERSION_ENVIRON = "healthlib.content_version"  # the WSGI environ key of the version read for a request
PAGE_TIMEOUT = 24 * 3600
PUBLIC_MAX_AGE = 300
KEPT_HEADERS = ("Content-Type", "Last-Modified", "Content-Language")


# What a cache raises when it cannot be reached: Redis down or cut off (redis-py's errors),
# a file cache on a full or failing disk (OSError). Pages are then served uncached.
CACHE_ERRORS = (OSError, RedisError)
_last_warning = [0.0]


def cache_unavailable(error):
    """Log that a cache could not be reached (at most once a minute per process, so an outage
    does not flood the log with a line per request); callers carry on uncached."""
    if time.monotonic() - _last_warning[0] > 60:
        _last_warning[0] = time.monotonic()
        logger.error("cache unreachable, serving without it: %s", error)


_failed_bump = threading.Event()  # a change whose bump failed: done again once the cache answers


def pending_bump():
    """Whether this process owes the cache a new content version (its last bump failed)."""
    return _failed_bump.is_set()


def content_version():
    """The current content version (a str), or ``None`` when the cache cannot be reached."""
    cache = caches["default"]
    try:
        if _failed_bump.is_set():  # the cache is back (or this raises again): retire what the outage left
            cache.set_many({VERSION_KEY: uuid.uuid4().hex, CHANGED_KEY: time.time()}, timeout=None)
            _failed_bump.clear()
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY) or "unversioned"
    except CACHE_ERRORS as error:
        cache_unavailable(error)
        return None
    return version


def bump_content_version():
    """Retire every cached page: a new content version, and the moment it changed (``content_changed_at``)."""
    # A new random version rather than a counter: a counter that expired or was evicted
    # would restart at an old number and bring back pages cached under it.
    try:
        caches["default"].set_many({VERSION_KEY: uuid.uuid4().hex, CHANGED_KEY: time.time()}, timeout=None)
        _failed_bump.clear()
    except CACHE_ERRORS:
        # Pages cached before the outage would outlive this change: this process bumps again at
        # its next request that reaches the cache; a command's process may not live that long.
        _failed_bump.set()
        logger.exception("the content version could not be replaced; run 'manage.py invalidate_page_cache' once the cache is back")


# Settings every page shows: a page cached under other values is another page.
PAGE_SETTINGS = ("HEALTHLIB_SITE_NAME", "HEALTHLIB_EMERGENCY_NUMBER")


def settings_fingerprint():
    """A short hash of the ``PAGE_SETTINGS`` values: changing one (a new emergency number)
    retires the cached pages without waiting for a content change."""
    values = "\x1f".join(str(getattr(settings, name)) for name in PAGE_SETTINGS)
    return hashlib.sha256(values.encode()).hexdigest()[:12]


def content_changed_at():
    """When the content version was last replaced (a Unix time, float), or ``None`` when the
    cache is out of reach. A cache that lost it (emptied, culled, restarted) starts it afresh
    from now: a later date only costs a client one full answer, an earlier one a stale page."""
    cache = caches["default"]
    try:
        changed = cache.get(CHANGED_KEY)
        if changed is None:
            cache.add(CHANGED_KEY, time.time(), timeout=None)
            changed = cache.get(CHANGED_KEY)
        return changed
    except CACHE_ERRORS as error:
        cache_unavailable(error)
        return None


def newest_change(request, *moments):
    """The ``Last-Modified`` value (an HTTP date) for the newest of ``moments`` (datetimes or
    ``None``) and of the content version's last change, read before the view ran
    (``request.content_changed_at``, set by ``public_page``), or ``None`` when none is known.

    The newest stored change alone misses an article taken out of publication or deleted (the
    newest published one did not change); a conditional request would then get a 304 for a page
    that still lists it. Every such change replaces the content version, which records when.
    Read before the page is made, the date is never newer than what the page shows."""
    changed = getattr(request, "content_changed_at", None) or content_changed_at()
    times = [moment.timestamp() for moment in moments if moment] + ([changed] if changed else [])
    return http_date(max(times)) if times else None


def _last_modified(request):
    """``HEALTHLIB_PAGES_LAST_MODIFIED``: a dotted path to a callable giving the newest
    change to what public pages show (a datetime or ``None``), for ``Last-Modified``."""
    return newest_change(request, import_string(settings.HEALTHLIB_PAGES_LAST_MODIFIED)())


def public_page(view=None, *, query_params=(), normalize=None):
    """Serve ``view`` from the shared page cache to anonymous GET and HEAD requests.

    ``query_params`` names the query parameters the view reads; the view sees only those
    (``request.GET`` is filtered before it runs) and the cache key holds only those, so
    junk query strings (``?utm=1``, ``?utm=2``, …) all share one entry and cannot flood
    the cache or evict the hot pages. The key space is bounded by the real pages.
    ``normalize`` maps a parameter to a function giving its normalised value (``None``: keep
    it as sent), so spellings that mean the same (``knee  pain `` and ``knee pain``) share an
    entry; the view sees the normalised value. Use as ``@public_page`` or
    ``@public_page(query_params=("page",))``.
    """
    if view is None:
        return lambda view: public_page(view, query_params=query_params, normalize=normalize)
    read = tuple(sorted(query_params))

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        request.GET = _only(request.GET, read, normalize)
        if request.user.is_authenticated:
            response = view(request, *args, **kwargs)
            patch_cache_control(response, private=True, no_cache=True)
            return response
        # The version the WSGI layer in front read for this request (healthlib.earlyhits), or read now.
        pages, version = caches["pages"], request.META.get(VERSION_ENVIRON) or content_version()
        key = "page:%s:%s:%s" % (
            version,
            settings_fingerprint(),
            hashlib.sha256(f"{request.scheme}://{request.get_host()}{request.path}?{_sorted(request.GET)}".encode()).hexdigest(),
        )
        cached = get_page(pages, key) if version is not None else None
        if cached is not None:
            status, headers, content = cached
            response = HttpResponse(content, status=status)
            for name, value in headers.items():
                response[name] = value
            response["X-Cache"] = "hit"
            # Answered ahead of Django from now on (``healthlib.earlyhits``), if the query string
            # is the one the key holds: junk parameters (``?utm=…``) never get entries of their own.
            response.early_hit = version if request.META.get("QUERY_STRING", "") == _sorted(request.GET) else None
        else:
            request.content_changed_at = content_changed_at()  # before the page is made (newest_change)
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response = response.render()
            if response.status_code == 200 and not response.streaming:
                if "Last-Modified" not in response and (modified := _last_modified(request)):
                    response["Last-Modified"] = modified
                headers = {name: response[name] for name in KEPT_HEADERS if name in response}
                if version is not None:
                    set_page(pages, key, (response.status_code, headers, response.content))
            response["X-Cache"] = "miss"
        if response.status_code == 200 and not response.streaming:
            response["ETag"] = '"%s"' % hashlib.sha256(response.content).hexdigest()[:32]
            patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        if request.method == "HEAD" and not response.streaming:
            response["Content-Length"] = len(response.content)
            response.content = b""
        return response

    return wrapper


def get_page(cache, key):
    """``cache.get(key)``, or ``None`` (logged) when the cache cannot be reached."""
    try:
        return cache.get(key)
    except CACHE_ERRORS as error:
        cache_unavailable(error)
        return None


def set_page(cache, key, value):
    """``cache.set(key, value)`` for ``PAGE_TIMEOUT`` seconds; nothing (logged) when the cache cannot be reached."""
    try:
        cache.set(key, value, PAGE_TIMEOUT)
    except CACHE_ERRORS as error:
        cache_unavailable(error)


def _sorted(query):
    """``query`` encoded with its parameters in name order: one cache entry whatever their order."""
    return urlencode(sorted((name, value) for name, values in query.lists() for value in values))


def _only(query, names, normalize=None):
    """A copy of the QueryDict ``query`` holding only ``names`` (in that order), each value
    normalised by ``normalize[name]`` when one is given and it has an answer; immutable."""
    normalize = normalize or {}

    def value_of(name, value):
        normalised = normalize[name](value) if name in normalize else None
        return value if normalised is None else normalised

    # In the order the request gave them, so links built from it (``{% querystring %}``) keep it.
    return QueryDict(urlencode([(name, value_of(name, value)) for name, values in query.lists() if name in names for value in values]))


_pending = threading.local()


def _bump_if_pending():
    if getattr(_pending, "bump", False):
        _pending.bump = False
        bump_content_version()


def schedule_bump():
    """Retire cached pages once the transaction commits (once, however many rows changed).

    Apps call this when a change patients can see is saved (``conditions.signals``);
    this module knows nothing of their models."""
    _pending.bump = True
    transaction.on_commit(_bump_if_pending)


class FrontCacheMiddleware:
    """How long the front's micro-cache (``deploy/nginx.conf``) may keep each response:
    ``X-Accel-Expires``, which nginx reads and never passes on.

    nginx counts cache lifetimes in whole seconds of its clock, so "valid for 1 s" keeps a
    page for up to two. An anonymous page is instead marked to expire at the end of the
    current second (``@`` and that second), so no visitor sees a copy older than one second:
    a publish or an unpublish shows within a second plus one rendering. Anything else (a
    signed-in user, a response setting a cookie or marked private, a form post, an error
    other than "not found") is marked ``0``: never kept.
    """

    KEPT_STATUSES = {200, 301, 404, 410}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        control = response.get("Cache-Control", "")
        keep = (request.method in ("GET", "HEAD") and response.status_code in self.KEPT_STATUSES and not response.cookies
                and not (user is not None and user.is_authenticated) and "private" not in control and "no-store" not in control)
        response["X-Accel-Expires"] = f"@{int(time.time())}" if keep else "0"
        return response

