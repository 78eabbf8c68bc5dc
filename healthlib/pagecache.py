"""Whole-page caching for anonymous readers, shared by every web server.

Pages are stored in the ``pages`` cache (Redis in production, a file cache in the
embedded default, so every gunicorn worker shares it) under keys that carry the
*content version*: a random token in the ``default`` cache that is replaced after any
article, section, category, category link or image change commits. One replacement
retires every cached page on every server at once; nothing per-server has to be purged, and old
entries simply expire.

Django's own ``cache_page`` cannot do this: its key prefix is fixed when the view is
decorated. Responses get a strong ``ETag`` (a hash of the body) and ``Last-Modified``
(the newest published article), and ``ConditionalGetMiddleware`` answers revalidations
with 304. Anonymous responses say ``Cache-Control: public, max-age=300`` so a CDN may
keep them for five minutes; signed-in staff always get a fresh page marked private.
"""

import hashlib
import uuid
from functools import wraps

from django.core.cache import caches
from django.db import transaction
from django.db.models import Max
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.http import http_date

VERSION_KEY = "content-version"
PAGE_TIMEOUT = 24 * 3600
PUBLIC_MAX_AGE = 300
KEPT_HEADERS = ("Content-Type", "Last-Modified", "Content-Language")


def content_version():
    cache = caches["default"]
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY) or "unversioned"
    return version


def bump_content_version():
    # A new random version rather than a counter: a counter that expired or was evicted
    # would restart at an old number and bring back pages cached under it.
    caches["default"].set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def _last_modified():
    from conditions.models import Article

    newest = Article.objects.published().aggregate(newest=Max("updated_at"))["newest"]
    return http_date(newest.timestamp()) if newest else None


def public_page(view):
    """Serve ``view`` from the shared page cache to anonymous GET and HEAD requests."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        if request.user.is_authenticated:
            response = view(request, *args, **kwargs)
            patch_cache_control(response, private=True, no_cache=True)
            return response
        pages = caches["pages"]
        key = "page:%s:%s" % (
            content_version(),
            hashlib.sha256(f"{request.scheme}://{request.get_host()}{request.get_full_path()}".encode()).hexdigest(),
        )
        cached = pages.get(key)
        if cached is not None:
            status, headers, content = cached
            response = HttpResponse(content, status=status)
            for name, value in headers.items():
                response[name] = value
            response["X-Cache"] = "hit"
        else:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response = response.render()
            if response.status_code == 200 and not response.streaming:
                if "Last-Modified" not in response and (modified := _last_modified()):
                    response["Last-Modified"] = modified
                headers = {name: response[name] for name in KEPT_HEADERS if name in response}
                pages.set(key, (response.status_code, headers, response.content), PAGE_TIMEOUT)
            response["X-Cache"] = "miss"
        if response.status_code == 200 and not response.streaming:
            response["ETag"] = '"%s"' % hashlib.sha256(response.content).hexdigest()[:32]
            patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
        if request.method == "HEAD" and not response.streaming:
            response["Content-Length"] = len(response.content)
            response.content = b""
        return response

    return wrapper


class _Bump:
    def __init__(self):
        self.done = False

    def __call__(self):
        self.done = True
        bump_content_version()


def _schedule_bump(**kwargs):
    connection = transaction.get_connection()
    if any(isinstance(callback, _Bump) and not callback.done for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_Bump())


def connect_signals():
    from conditions.models import Article, ArticleImage, ArticleSection, Category

    for model in (Article, ArticleSection, ArticleImage, Category):
        post_save.connect(_schedule_bump, sender=model, dispatch_uid=f"pagecache-save-{model.__name__}")
        post_delete.connect(_schedule_bump, sender=model, dispatch_uid=f"pagecache-delete-{model.__name__}")
    for through in (Article.categories.through, Article.related.through):
        m2m_changed.connect(_schedule_bump, sender=through, dispatch_uid=f"pagecache-m2m-{through.__name__}")

