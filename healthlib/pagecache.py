"""Whole-page caching for anonymous readers, shared by every web server.

Pages are stored in the ``pages`` cache (Redis in production, a file cache in the
embedded default, so every gunicorn worker shares it) under keys that carry the
*content version*: a random token in the ``default`` cache that is replaced after a
change patients can see commits (a live article, its sections, categories or related
articles; a category; a deleted image), and never for drafts. One replacement
retires every cached page on every server at once; nothing per-server has to be purged, and old
entries simply expire.

Django's own ``cache_page`` cannot do this: its key prefix is fixed when the view is
decorated. Responses get a strong ``ETag`` (a hash of the body) and ``Last-Modified``
(the newest published article), and ``ConditionalGetMiddleware`` answers revalidations
with 304. Anonymous responses say ``Cache-Control: public, max-age=300`` so a CDN may
keep them for five minutes; signed-in staff always get a fresh page marked private.
"""

import hashlib
import threading
import uuid
from functools import wraps

from django.core.cache import caches
from django.db import transaction
from django.db.models import Max
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse, QueryDict
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


def public_page(view=None, *, query_params=()):
    """Serve ``view`` from the shared page cache to anonymous GET and HEAD requests.

    ``query_params`` names the query parameters the view reads; the view sees only those
    (``request.GET`` is filtered before it runs) and the cache key holds only those, so
    junk query strings (``?utm=1``, ``?utm=2``, …) all share one entry and cannot flood
    the cache or evict the hot pages. The key space is bounded by the real pages.
    Use as ``@public_page`` or ``@public_page(query_params=("page",))``.
    """
    if view is None:
        return lambda view: public_page(view, query_params=query_params)
    read = tuple(sorted(query_params))

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        request.GET = _only(request.GET, read)
        if request.user.is_authenticated:
            response = view(request, *args, **kwargs)
            patch_cache_control(response, private=True, no_cache=True)
            return response
        pages = caches["pages"]
        key = "page:%s:%s" % (
            content_version(),
            hashlib.sha256(f"{request.scheme}://{request.get_host()}{request.path}?{request.GET.urlencode()}".encode()).hexdigest(),
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


def _only(query, names):
    """A copy of the QueryDict ``query`` holding only ``names`` (in that order), immutable."""
    kept = QueryDict(mutable=True)
    for name in names:
        if name in query:
            kept.setlist(name, query.getlist(name))
    kept._mutable = False
    return kept


_pending = threading.local()


def _bump_if_pending():
    if getattr(_pending, "bump", False):
        _pending.bump = False
        bump_content_version()


def _schedule_bump():
    """Retire cached pages once the transaction commits (once, however many rows changed)."""
    _pending.bump = True
    transaction.on_commit(_bump_if_pending)


# What patients can see changed: only then are cached pages retired. Editors saving
# drafts, uploading images or submitting for review leave the public cache alone, so
# its version says nothing about editorial activity.

def _article_saved(sender, instance, raw=False, **kwargs):
    if instance.is_published or instance.was_published:
        _schedule_bump()


def _article_deleted(sender, instance, **kwargs):
    if instance.was_published or instance.is_published:
        _schedule_bump()


def _section_changed(sender, instance, **kwargs):
    from conditions.models import Article

    if type(instance).article.is_cached(instance):
        live = instance.article.is_published or instance.article.was_published
    else:
        live = Article.objects.filter(pk=instance.article_id, status=Article.Status.PUBLISHED).exists()
    if live:
        _schedule_bump()


def _article_links_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    from conditions.models import Article

    if not action.startswith("post_"):
        return
    if isinstance(instance, Article) and (instance.is_published or instance.was_published):
        _schedule_bump()
    elif isinstance(instance, Article) and sender is Article.related.through:
        # A draft's related list is its own; a live page lists only published related articles.
        return
    elif not isinstance(instance, Article) and (
        pk_set is None or Article.objects.published().filter(pk__in=pk_set).exists()
    ):
        _schedule_bump()  # from the category side: a category's list of live articles changed


def _sections_rendered(sender, article, **kwargs):
    if article.is_published:
        _schedule_bump()


def _always(sender, **kwargs):
    _schedule_bump()


def connect_signals():
    from conditions.models import Article, ArticleImage, ArticleSection, Category, sections_rendered

    sections_rendered.connect(_sections_rendered, dispatch_uid="pagecache-sections-rendered")

    post_save.connect(_article_saved, sender=Article, dispatch_uid="pagecache-save-Article")
    post_delete.connect(_article_deleted, sender=Article, dispatch_uid="pagecache-delete-Article")
    post_save.connect(_section_changed, sender=ArticleSection, dispatch_uid="pagecache-save-ArticleSection")
    post_delete.connect(_section_changed, sender=ArticleSection, dispatch_uid="pagecache-delete-ArticleSection")
    # Category names and descriptions appear on live pages; an image deleted may be on one.
    for model, signal in ((Category, post_save), (Category, post_delete), (ArticleImage, post_delete)):
        signal.connect(_always, sender=model, dispatch_uid=f"pagecache-{signal is post_save}-{model.__name__}")
    for through in (Article.categories.through, Article.related.through):
        m2m_changed.connect(_article_links_changed, sender=through, dispatch_uid=f"pagecache-m2m-{through.__name__}")
