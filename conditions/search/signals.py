"""Keep the search index current: after the database transaction commits, index a
published article and drop anything else. A failed update is logged and never undoes
the editor's save; ``rebuild_index`` repairs the index."""

import logging
import multiprocessing
import os
import signal
import threading
import time
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

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
    _deferred.slugs, _deferred.aside = set(), None
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        slugs, _deferred.slugs = _deferred.slugs, None
        aside, _deferred.aside = _deferred.aside, None
        if aside is not None and aside.saved_at is None:
            aside.discard()  # built for writes that never committed: what is stored is indexed below
            aside = None
        if aside is not None:
            # Built while the import wrote; what changed after its snapshot is updated once it is
            # in. (After a failure, quietly: the output may be what failed.)
            transaction.on_commit(lambda: aside.finish(None if failed else progress, (slugs - aside.covered) | aside.later))
        elif len(slugs) >= REBUILD_FROM:
            # A bulk import: building aside with every core beats updating thousands of documents one by one.
            transaction.on_commit(lambda: _rebuild_after(len(slugs), progress))
        elif slugs:
            transaction.on_commit(lambda: update_index(*sorted(slugs)))  # at once, unless inside a transaction


def builds_aside(changes):
    """Whether an import about to change ``changes`` articles should hand the whole index to
    ``build_aside``: inside ``deferred_index_updates``, ``REBUILD_FROM`` changes or more, and
    a backend that can build apart from the database."""
    return getattr(_deferred, "slugs", None) is not None and changes >= REBUILD_FROM and get_backend().builds_aside


def build_aside(documents, covered, started_at):
    """Start building the whole index from ``documents`` (``SearchDocument``s: every article
    that will be live) in a forked process, while this one goes on writing the database
    (see ``builds_aside``). It is swapped in when the ``deferred_index_updates`` block ends,
    once the writes commit; then the slugs changed meanwhile that ``covered`` (the slugs whose
    documents were given as they will be saved) leaves out are updated, and so is whatever
    changed elsewhere after ``started_at`` (when the stored articles were read)."""
    _deferred.aside = IndexBuiltAside(documents, covered, started_at)


def aside_saved():
    """Say that the writes the index being built aside stands for have committed: updates
    scheduled from now on are made again once it is swapped in, new articles' included."""
    if (aside := getattr(_deferred, "aside", None)) is not None:
        aside.saved_at = timezone.now()


def discard_aside():
    """Drop the index being built aside (the writes it was built for did not happen)."""
    aside, _deferred.aside = getattr(_deferred, "aside", None), None
    if aside is not None:
        aside.discard()


class IndexBuiltAside:
    """A forked process building a complete index (``backend.rebuild``) from documents it
    was handed, that holds it back until told to swap it in or to drop it.

    The process needs no database (its documents are in the memory it was forked with), so
    the import's database writes and the index build run at once, on two cores. It leads a
    process group of its own (Whoosh's worker processes join it), so a build that is dropped
    or failed is ended whole.
    """

    def __init__(self, documents, covered, started_at):
        """``started_at``: when the stored articles among ``documents`` were read (an aware datetime)."""
        context = multiprocessing.get_context("fork")
        self.covered, self.total = set(covered), len(documents)
        self.started_at, self.saved_at, self.later = started_at, None, set()
        self.done = context.Value("i", 0, lock=False)
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=self._build, args=(documents, theirs))
        self.process.start()
        try:
            os.setpgid(self.process.pid, self.process.pid)  # as the process does itself: whichever runs first
        except OSError:
            pass
        theirs.close()

    def _build(self, documents, connection):
        os.setpgrp()
        # A killed import leaves the pipe without a reader at its end: the build runs to its
        # end (so Whoosh's own worker processes end as usual) and is dropped at the question below.
        self.connection.close()  # this process's copy of the importer's end, or that end would never close

        def advance(done):
            self.done.value = done

        def told_to_swap():
            try:
                return connection.recv() == "swap"
            except EOFError:  # the import ended without a word
                return False

        try:
            get_backend().rebuild(documents, advance, processes=max(1, min(2, os.cpu_count() or 1)), before_swap=told_to_swap)
            connection.send("done")
        except BaseException:
            logger.exception("building the search index aside failed")
            os._exit(1)
        os._exit(0)

    def finish(self, progress=None, changed=()):
        """Swap the index in (waiting for it, with an "indexed" stage on ``progress``), then
        update what changed after its documents were taken: the slugs in ``changed``, articles
        whose ``updated_at`` moved meanwhile and the pages linking to them, and every slug the
        index and the published articles disagree on. A failed build is logged and the index
        rebuilt instead; a failed update is logged (``rebuild_index`` repairs it)."""
        advance = progress.stage("indexed", self.total) if progress is not None else None
        try:
            self.connection.send("swap")
        except OSError:  # the process is gone: found out below
            pass
        while not self.connection.poll(0.2) and not self._ended():
            if advance:
                advance(self.done.value)
        try:
            built = self.connection.poll() and self.connection.recv() == "done"
        except (EOFError, OSError):
            built = False
        self._end()
        if not built:
            logger.error("the search index built aside was lost (exit code %s); rebuilding it", self.process.exitcode)
            _rebuild_after(self.total, progress)
            return
        if advance:
            advance(self.total)
        try:
            recent = set(Article.objects.filter(Q(updated_at__gte=self.saved_at) | (Q(updated_at__gte=self.started_at) & ~Q(slug__in=self.covered)))
                         .values_list("slug", flat=True))
            recent |= set(Article.objects.linking_to_any(recent).values_list("slug", flat=True)) if recent else set()
            indexed, published = set(get_backend().indexed_hashes()), set(Article.objects.published().values_list("slug", flat=True))
        except Exception:
            logger.exception("the search index built aside is in, but what changed meanwhile could not be listed; run 'manage.py rebuild_index'")
            return
        if stale := set(changed) | recent | (indexed ^ published):
            update_index(*sorted(stale))

    def discard(self):
        try:
            self.connection.send("discard")
        except OSError:
            pass
        self._end(kill=True)

    def _ended(self):
        """Whether the process has ended, without reaping it (so its group id stays its own).
        Not its pipe nor its sentinel: Whoosh's workers hold copies of both, and outlive a
        failed build."""
        try:
            return os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:  # reaped already
            return True

    def _end(self, kill=False):
        """End the process and its whole group (Whoosh's worker processes included: a failed
        or killed build leaves them waiting), then reap it. The group is signalled before the
        process is reaped, while its id cannot be anyone else's."""
        while not kill and not self._ended():
            time.sleep(0.05)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # the group is gone already
            pass
        self.process.join()


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
        if (aside := _deferred.aside) is not None and aside.saved_at is not None:
            aside.later.add(slug)
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
