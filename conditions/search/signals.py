"""Keep the search index current: after the database transaction commits, index a
published article and drop anything else. A failed update is logged and never undoes
the editor's save; ``rebuild_index`` repairs the index."""

import logging
import os
import threading
from contextlib import contextmanager

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from ..models import Article, ArticleSection, sections_rendered
from . import get_backend
from .documents import SearchDocument

logger = logging.getLogger(__name__)


_deferred = threading.local()


REBUILD_FROM = 500  # articles changed at once: from this many, the index is rebuilt aside rather than updated


def rebuild_index(progress=None, processes=None):
    """Index every published article afresh, built aside and swapped in (``manage.py
    rebuild_index``). ``progress``: ``advance(done)`` (``conditions.progress``); ``processes``:
    indexing processes (``None``: up to two, one per core). Returns how many were indexed."""
    articles = Article.objects.published().order_by("slug").prefetch_related("sections", "categories")
    total = articles.count()
    documents = (SearchDocument.from_article(article) for article in articles.iterator(chunk_size=200))
    get_backend().rebuild(documents, progress, processes=max(1, processes or min(2, os.cpu_count() or 1)))
    return total


def update_index(*slugs):
    try:
        articles = Article.objects.published().prefetch_related("sections", "categories").filter(slug__in=slugs)
        documents = [SearchDocument.from_article(article) for article in articles]
        for slug in set(slugs) - {document.slug for document in documents}:
            get_backend().delete(slug)
        if documents:
            get_backend().add_bulk(documents)
    except Exception:
        logger.exception("search index update failed for %r; run 'manage.py rebuild_index' to repair", slugs)


@contextmanager
def deferred_index_updates(progress=None):
    """Collect index updates and apply them in one batch at the end (bulk imports).

    One index write for a whole import instead of one per article; should the process
    die first, ``rebuild_index --check`` reports the drift and ``rebuild_index`` repairs it.
    ``progress``: a ``conditions.progress.Progress`` for a rebuild's "indexed" stage.
    """
    if getattr(_deferred, "slugs", None) is not None:
        yield
        return
    _deferred.slugs = set()
    try:
        yield
    finally:
        slugs, _deferred.slugs = _deferred.slugs, None
        if len(slugs) >= REBUILD_FROM:
            # A bulk import: building aside with every core beats updating thousands of documents one by one.
            transaction.on_commit(lambda: _rebuild_after(len(slugs), progress))
        elif slugs:
            transaction.on_commit(lambda: update_index(*sorted(slugs)))  # at once, unless inside a transaction


def _rebuild_after(changes, progress=None):
    try:
        total = Article.objects.published().count()
        rebuild_index(progress.stage("indexed", total) if progress is not None else None)
    except Exception:
        logger.exception("search index rebuild after %d changes failed; run 'manage.py rebuild_index'", changes)


_pending = threading.local()


def _flush_pending():
    slugs, _pending.slugs = getattr(_pending, "slugs", None), None
    if slugs:
        update_index(*sorted(slugs))


def schedule_update(slug):
    """Index ``slug`` once the transaction commits (once, however many rows changed).

    Slugs gather in a per-thread set; the first on-commit callback indexes them all and
    the others find nothing left. A slug left over from a rolled-back transaction is
    indexed with the next commit, which is harmless: an update re-reads the article.
    """
    if getattr(_deferred, "slugs", None) is not None:
        _deferred.slugs.add(slug)
        return
    if getattr(_pending, "slugs", None) is None:
        _pending.slugs = set()
    _pending.slugs.add(slug)
    transaction.on_commit(_flush_pending)


@receiver(post_save, sender=Article)
def article_saved(sender, instance, **kwargs):
    schedule_update(instance.slug)
    previous = getattr(instance, "_saved_link_state", None)
    if previous and previous[0] != instance.slug:
        schedule_update(previous[0])  # renamed: drop the old slug's document


@receiver(post_save, sender=ArticleSection)
@receiver(post_delete, sender=ArticleSection)
def section_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return  # a restore or fixture load: the article's own save schedules the update
    if ArticleSection.article.is_cached(instance):
        slug = instance.article.slug
    else:
        slug = Article.objects.filter(pk=instance.article_id).values_list("slug", flat=True).first()
    if slug:  # None while the article itself is being deleted (article_deleted handles that)
        schedule_update(slug)


@receiver(post_delete, sender=Article)
def article_deleted(sender, instance, **kwargs):
    schedule_update(instance.slug)


@receiver(m2m_changed, sender=Article.categories.through)
def categories_changed(sender, instance, action, **kwargs):
    if action.startswith("post_") and isinstance(instance, Article):
        schedule_update(instance.slug)


@receiver(sections_rendered)
def sections_rerendered(sender, article, **kwargs):
    if article.is_published:
        schedule_update(article.slug)  # its page text changed with a linked article's title or status
