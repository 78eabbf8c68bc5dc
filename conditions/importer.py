"""Load article sources into the database (``manage.py import_content``).

Every file is parsed and checked before anything is written: a file that breaks the
format, or links to an article that exists neither in the batch nor in the database,
is reported in one line and skipped while the valid files load. Only what differs from
the database is written, so a second run changes nothing, timestamps included.

Each file loads whole or not at all. The articles the database lacks (a migration from
another system: thousands at once) take the bulk path: their sections are rendered in
worker processes against the link state the batch will leave (so a link to an article
later in the batch is a link from the start), and they are written with bulk inserts in
one transaction, sections, links, categories, codes, related articles and a history
version each, which a failure or a killed process leaves out entirely (run again, it
loads them; nothing is written twice). Should that transaction fail, each file is loaded
on its own instead, so one bad row costs one file. Articles the database has are
compared and, when changed, updated one file per transaction through the same path as
the admin (renames followed, linking pages re-rendered). ``related`` entries may point
at articles later in the batch, so for existing articles they are set in a last pass.

Worker processes are forked (``concurrent.futures.ProcessPoolExecutor``, the standard
library's pool) for batches of ``PARALLEL_FROM`` files or more: they parse files and
render Markdown, pure work that needs no database. Smaller batches run in this process,
where forking would cost more than it saves.

Run with ``user`` (``import_content --user NAME``), every file passes the same gate as
the admin (``conditions.permissions``): an Editor's import may create and change drafts
but cannot publish, unpublish or change a live article, and the versions are theirs.
Without it the command acts as the site's operator (shell access to the server), as
``migrate`` does.
"""

import json
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import reversion
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.python import Serializer as PythonSerializer
from django.db import DatabaseError, connection, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from reversion.models import Revision, Version

from healthlib import pagecache

from . import codes, markdown
from .content_format import ArticleSource, ContentError, parse
from .kinds import SectionKind
from .models import Article, ArticleCode, ArticleImage, ArticleLink, ArticleRedirect, ArticleSection, Category, reading_grade, render_page
from .permissions import can_publish, check_change
from .search.documents import SearchDocument
from .search.signals import aside_saved, build_aside, builds_aside, deferred_index_updates, discard_aside, schedule_update
from .workflow import WorkflowError, publish_problems

PARALLEL_FROM = 200  # files: from this many, parse and render in worker processes
HISTORY_BATCH = 250  # articles whose history versions are written at a time (the "saved" stage advances by it)


@dataclass
class ImportReport:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # loaded, but worth a look (``ContentError``s)


def source_files(paths):
    """The ``.md`` files under ``paths`` (files or folders, sub-folders included), sorted."""
    files, errors = [], []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.md") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            errors.append(ContentError(path, "no such file or folder"))
    return files, errors


def import_content(paths, user=None, new_only=False, progress=None, processes=None):
    """Load source files (see the module docstring); the search index is updated once, at the end.

    ``user``: the acting user whose permissions each file is checked against (``None``: the operator).
    ``new_only``: create the articles the database lacks and leave every existing one as it
    is (reported as unchanged), so loading ``content/`` again never undoes admin work.
    ``progress``: a ``conditions.progress.Progress`` to report each stage on (``None``: silent).
    ``processes``: worker processes for batches of ``PARALLEL_FROM`` files or more (``None``:
    one per core; 1: none). Returns an ``ImportReport`` of slugs and ``ContentError``s.
    """
    processes = len(os.sched_getaffinity(0)) if processes is None else processes  # the cores this process may use
    with deferred_index_updates(progress):
        return _import_content(paths, user, new_only, progress, processes)


def _stage(progress, description, total):
    return progress.stage(description, total) if progress is not None else (lambda done: None)


def _in_workers(function, items, processes):
    """``function`` over ``items``, results in order: in forked worker processes when the
    batch is large enough to repay starting them, else here. ``function`` and what it
    returns must pickle; it may read module state set before the call (the fork copies it)."""
    if processes > 1 and len(items) >= PARALLEL_FROM:
        with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"), initializer=_exit_with_parent) as pool:
            yield from pool.map(function, items, chunksize=max(1, min(50, len(items) // (processes * 8))))
    else:
        yield from map(function, items)


def _exit_with_parent():
    """Worker initializer: end the worker as soon as the importing process is gone. Killed
    (``kill -9``, the out-of-memory killer), it would leave its workers waiting on its queue
    for ever, each holding a copy of its memory."""
    sentinel = multiprocessing.parent_process().sentinel

    def watch():
        multiprocessing.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _parse_file(path):
    """``(source, None)`` or ``(None, (path, message, line))``: errors cross processes as tuples."""
    try:
        return parse(path), None
    except ContentError as error:
        return None, (error.path, error.message, error.line)
    except OSError as error:
        return None, (path, f"cannot be read: {error.strerror}", None)


def _read(files, report, progress, processes):
    sources = {}
    read = _stage(progress, "read files", len(files))
    for done, (source, error) in enumerate(_in_workers(_parse_file, files, processes), start=1):
        read(done)
        if error is not None:
            report.errors.append(ContentError(*error))
        elif source.slug in sources:
            report.errors.append(ContentError(source.path, f"slug '{source.slug}' is also used by {sources[source.slug].path}", source.lines["slug"]))
        else:
            sources[source.slug] = source
    return sources


def _import_content(paths, user, new_only, progress, processes):
    files, errors = source_files(paths)
    report = ImportReport(errors=errors)
    sources = _read(files, report, progress, processes)

    if new_only:
        existing = set(Article.objects.filter(slug__in=list(sources)).values_list("slug", flat=True))
        report.unchanged.extend(sorted(existing))
        sources = {slug: source for slug, source in sources.items() if slug not in existing}
    _keep_renames(sources, report)
    _drop_unknown_categories(sources, report)
    _follow_old_addresses(sources, report)
    _drop_broken_links(sources, report)

    # Published files pass the same checks as publishing in the admin; links to files of
    # this import that are published count as links to published articles.
    published = {slug for slug, source in sources.items() if source.status == Article.Status.PUBLISHED}
    stored = {article.slug: article for article in Article.objects.filter(slug__in=list(sources)).prefetch_related(
        "categories", "related", "redirects", "sections", "code_rows")}
    new = {slug: source for slug, source in sources.items() if slug not in stored}
    created, changed = _create(new, sources, user, published, report, progress, processes) if new else (set(), set())
    existing = [(slug, source) for slug, source in sources.items() if slug in stored]
    loaded = _stage(progress, "compared", len(existing))
    for done, (slug, source) in enumerate(existing, start=1):
        loaded(done)
        if _matches(stored[slug], source):
            report.unchanged.append(slug)
        elif _apply_one(source, sources, user, published, report):
            changed.add(slug)
    _link(sources, created, changed, user, report, progress)
    return report


def _apply_one(source, sources, user, published, report):
    """Load one file in its own transaction; whether it changed anything (refused: reported, dropped)."""
    try:
        with transaction.atomic():
            outcome = apply_source(source, user, also_published=published)
    except (PermissionDenied, WorkflowError) as refusal:
        del sources[source.slug]
        report.errors.append(ContentError(source.path, f"not loaded: {refusal}", source.lines.get("status")))
        return False
    getattr(report, outcome).append(source.slug)
    return outcome != "unchanged"


def _link(sources, created, changed, user, report, progress):
    """Set the related articles of the existing articles in the batch (new ones have theirs),
    and give every article the batch changed a version in its history."""
    through = Article.related.through
    pk_of = dict(Article.objects.filter(slug__in=set(sources).union(*(source.related for source in sources.values())))
                 .values_list("slug", "pk"))
    current = {}
    for from_pk, to_pk in through.objects.filter(from_article_id__in=[pk_of[slug] for slug in sources if slug in pk_of]).values_list(
            "from_article_id", "to_article_id"):
        current.setdefault(from_pk, set()).add(to_pk)
    todo = [source for slug, source in sources.items() if slug not in created and (
        slug in changed or {pk_of[target] for target in source.related if target in pk_of} != current.get(pk_of.get(slug), set()))]
    linked = _stage(progress, "linked", len(todo))
    for done, source in enumerate(todo, start=1):
        linked(done)
        with transaction.atomic(), reversion.create_revision():
            if user is not None:
                reversion.set_user(user)
            article = Article.objects.select_for_update().get(slug=source.slug)
            related = set(Article.objects.filter(slug__in=source.related).values_list("pk", flat=True))
            if related != set(article.related.values_list("pk", flat=True)):
                try:
                    if user is not None:
                        check_change(user, article, article.status)  # the related list is on the live page too
                except PermissionDenied as refusal:
                    report.errors.append(ContentError(source.path, f"related articles not changed: {refusal}", source.lines.get("related")))
                    continue
                article.related.set(related)
                # The related list is on the page and in the API: the article changed.
                article.updated_at = timezone.now()
                article.save(update_fields=["updated_at"])
                if source.slug in report.unchanged:
                    report.unchanged.remove(source.slug)
                    report.updated.append(source.slug)
                    changed.add(source.slug)
            if source.slug in changed:
                # A version in the article's history, so even an imported article can be restored.
                reversion.add_to_revision(article)
                reversion.set_comment(_comment(source))


def _comment(source):
    return f"Imported from {source.path.name}" if source.path else "Imported"


def _refusal(source, user, article, also_published, live=None):
    """Why ``source`` may not be loaded over ``article`` (``None``: a new one) by ``user``, or
    ``None``: ``PermissionDenied`` or ``WorkflowError``, as ``apply_source`` would raise."""
    try:
        if user is not None:
            check_change(user, article, source.status)
        if source.status == Article.Status.PUBLISHED:
            content = {"slug": source.slug, "summary": source.summary, "sections": source.sections}
            problems = publish_problems(content, reviewed_on=source.reviewed_on, also_published=also_published, live=live)
            if problems:
                raise WorkflowError("not published: " + " ".join(problems))
    except (PermissionDenied, WorkflowError) as refusal:
        return refusal
    return None


def _new_article(source, user):
    """The unsaved ``Article`` for a file the database lacks, fields as ``apply_source`` sets them."""
    article = Article(slug=source.slug, emergency_signs=source.emergency, codes=source.codes, updated_at=timezone.now())
    for name in ("title", "kind", "schema_type", "summary", "also_known_as", "reviewed_on", "reviewed_by", "status"):
        setattr(article, name, getattr(source, name))
    if user is not None and not can_publish(user):
        article.reviewed_on, article.reviewed_by = None, ""  # as in the admin: only a medical reviewer records a review
    article.normalize()
    return article


def _page_texts(source):
    """``[(kind, markdown)]`` of a source's sections in page order."""
    return sorted(source.sections.items(), key=lambda item: SectionKind.position(item[0]))


_RENDERING = {}  # targets and images for _render_source, set before the workers fork


def _render_source(texts):
    """``([html, …], grade)`` for one article's ``[(kind, markdown)]`` in page order."""
    html = render_page([text for _, text in texts], _RENDERING["targets"], _RENDERING["images"])
    return html, reading_grade(dict(texts))


def _create(new, sources, user, published, report, progress, processes):
    """The bulk path (module docstring): create the articles of ``new`` ({slug: source}).
    Returns ``(created in bulk, created one by one)``, sets of slugs."""
    sections_links = {slug: set().union(*map(markdown.linked_slugs, source.sections.values())) for slug, source in new.items()}
    linked = set().union(*sections_links.values())
    # What is live once the batch is in: the database's published articles, less those a file
    # of the batch takes out of publication, plus the batch's published files.
    live = set(Article.objects.published().filter(slug__in=linked).values_list("slug", flat=True))
    live -= {slug for slug, source in sources.items() if source.status != Article.Status.PUBLISHED}
    refused = True
    while refused:  # a refused file is not live: files linking to it are refused in turn
        refused = False
        for slug, source in list(new.items()):
            refusal = _refusal(source, user, None, published, live=live)
            if refusal is not None:  # before rendering, so no page counts on a file left out
                del new[slug], sources[slug]
                published.discard(slug)
                refused = True
                report.errors.append(ContentError(source.path, f"not loaded: {refusal}", source.lines.get("status")))
    articles = {slug: _new_article(source, user) for slug, source in new.items()}
    # Links render against the state this batch leaves: its new articles as they will be, the rest as stored.
    targets = {article.slug: article for article in Article.objects.filter(slug__in=linked - set(new)).only(*Article.LINK_STATE_FIELDS)}
    targets.update((slug, article) for slug, article in articles.items() if slug in linked)
    texts = {slug: _page_texts(source) for slug, source in new.items()}
    _RENDERING.update(targets=targets, images=ArticleImage.objects.for_texts([text for pairs in texts.values() for _, text in pairs]))
    rendered = {}
    render = _stage(progress, "rendered", len(texts))
    try:
        for done, (slug, result) in enumerate(zip(texts, _in_workers(_render_source, list(texts.values()), processes), strict=True), start=1):
            render(done)
            rendered[slug] = result
    finally:
        _RENDERING.clear()
    if builds_aside(len(new)):
        _index_aside(new, articles, texts, rendered)
    try:
        with transaction.atomic():
            _write_new(new, articles, texts, rendered, sections_links, user, _stage(progress, "saved", len(articles)))
        aside_saved()
    except DatabaseError:
        discard_aside()
        # One file's row refused (a slug taken meanwhile, say): each file on its own, so it costs that file only.
        loaded, one_by_one = _stage(progress, "loaded one by one", len(new)), set()
        for done, source in enumerate(list(new.values()), start=1):
            loaded(done)
            try:
                if _apply_one(source, sources, user, published, report):
                    one_by_one.add(source.slug)
            except DatabaseError as error:
                del sources[source.slug]
                report.errors.append(ContentError(source.path, f"not loaded: the database refused it ({error})"))
        return set(), one_by_one
    report.created.extend(new)
    return set(new), set()


def _index_aside(new, articles, texts, rendered):
    """Start building the search index of the library as the batch will leave it, in a
    process of its own while this one writes (``conditions.search.signals.build_aside``):
    the published articles stored now, as they are, and the batch's new published ones."""
    started_at = timezone.now()  # changes made elsewhere from now on are made again after the swap
    category_slug = dict(Category.objects.values_list("name", "slug"))
    stored = Article.objects.published().exclude(slug__in=list(new)).prefetch_related("sections", "categories")
    documents = [SearchDocument.from_article(article) for article in stored.iterator(chunk_size=500)]
    documents += [SearchDocument.from_parts(articles[slug], [category_slug[name] for name in source.categories if name in category_slug],
                                            [(kind, html) for (kind, _), html in zip(texts[slug], rendered[slug][0])])
                  for slug, source in new.items() if articles[slug].is_published]
    build_aside(sorted(documents, key=lambda document: document.slug), covered=new, started_at=started_at)


def _write_new(new, articles, texts, rendered, sections_links, user, saved):
    for slug, (_, grade) in rendered.items():
        articles[slug].reading_grade = grade
    ArticleRedirect.objects.filter(old_slug__in=list(new)).delete()  # an article taking an old address takes it over
    Article.objects.bulk_create(articles.values())
    for article in articles.values():
        article._saved_link_state = article.link_state()
    sections = {slug: [ArticleSection(article=articles[slug], kind=kind, position=SectionKind.position(kind), markdown=text, html=html)
                       for (kind, text), html in zip(pairs, rendered[slug][0])] for slug, pairs in texts.items()}
    ArticleSection.objects.bulk_create(section for page in sections.values() for section in page)
    _insert_rows(ArticleLink, ("source", "target_slug"), ((articles[slug].pk, target) for slug in new for target in sorted(sections_links[slug])))
    category_pk = dict(Category.objects.values_list("name", "pk"))
    _insert_rows(Article.categories.through, ("article", "category"), (
        (articles[slug].pk, category_pk[name]) for slug, source in new.items() for name in dict.fromkeys(source.categories) if name in category_pk))
    ArticleCode.objects.bulk_create(ArticleCode(article=article, code=code)
                                    for article in articles.values() for code in dict.fromkeys(map(codes.compact, article.codes)))
    pk_of = dict(Article.objects.filter(slug__in=set().union(*(source.related for source in new.values()))).values_list("slug", "pk"))
    _insert_rows(Article.related.through, ("from_article", "to_article"), (
        (articles[slug].pk, pk_of[target]) for slug, source in new.items() for target in dict.fromkeys(source.related) if target in pk_of))
    # Former addresses (``redirect_from``): never an address an article has, nor another article's old one.
    wanted = {}
    for slug, source in new.items():
        for old in source.redirect_from:
            wanted.setdefault(old, slug)  # two files naming one former address: the first keeps it
    taken = set(Article.objects.filter(slug__in=list(wanted)).values_list("slug", flat=True))
    taken |= set(ArticleRedirect.objects.filter(old_slug__in=list(wanted)).values_list("old_slug", flat=True))
    ArticleRedirect.objects.bulk_create(ArticleRedirect(old_slug=old, article=articles[slug]) for old, slug in sorted(wanted.items())
                                        if old not in taken)
    # A version in each article's history, so even an imported article can be restored.
    prefetch_related_objects(list(articles.values()), "categories", "related")
    batch, comments = list(articles.values()), [_comment(source) for source in new.values()]
    for start in range(0, len(batch), HISTORY_BATCH):
        part = batch[start:start + HISTORY_BATCH]
        _record_history(part, comments[start:start + HISTORY_BATCH], user, [sections[article.slug] for article in part])
        saved(min(len(batch), start + HISTORY_BATCH))
    # Bulk inserts send no signals: the search index and the page cache are told here.
    live = [slug for slug, article in articles.items() if article.is_published]
    for slug in live:
        schedule_update(slug)
    if live:
        pagecache.schedule_bump()
        # Stored pages linking to a newly published article now link to it (as Article.save does).
        for article in Article.objects.linking_to_any(live).exclude(slug__in=list(new)):
            article.render_sections()


def _record_history(articles, comments, user, sections):
    """One revision per article (``comments`` and ``sections``, each article's saved sections in
    page order, in the same order) holding a version of it and of each of its sections, as ``reversion.create_revision()`` around
    ``reversion.add_to_revision(article)`` writes it, in a few bulk inserts.

    django-reversion's own path saves a revision at a time, with queries and a serializer
    call per object: a third of a 5,000-file import. The rows written here are the same
    (Django's serializer in reversion's format, ``json``), so the admin's history lists them
    and restores them like any other (``tests/test_importer.py``). A database that cannot
    return the keys of a bulk insert gets reversion's own path."""
    articles = list(articles)
    if not connection.features.can_return_rows_from_bulk_insert:
        for article, comment in zip(articles, comments):
            with reversion.create_revision(atomic=False):
                if user is not None:
                    reversion.set_user(user)
                reversion.set_comment(comment)
                reversion.add_to_revision(article)
        return
    now = timezone.now()
    revisions = Revision.objects.bulk_create(Revision(date_created=now, user=user, comment=comment) for comment in comments)
    objects = [(revision, item) for revision, article, page in zip(revisions, articles, sections) for item in (article, *page)]
    content_types = ContentType.objects.get_for_models(Article, ArticleSection)
    serialized = _HistorySerializer().serialize([item for _, item in objects])
    _insert_rows(Version, ("revision", "object_id", "content_type", "db", "format", "serialized_data", "object_repr"), (
        (revision.pk, str(item.pk), content_types[type(item)].pk, connection.alias, "json", json.dumps([data], cls=DjangoJSONEncoder), str(item))
        for (revision, item), data in zip(objects, serialized)))


def _insert_rows(model, names, rows):
    """Insert ``rows`` (tuples of values the database takes as they are: ``str``, ``int``,
    keys for foreign keys) as ``model`` objects, the fields ``names`` in that order, for
    rows whose keys are not needed back. Sends no signals, as ``bulk_create`` sends none.

    On SQLite with one ``executemany``: Django's ``bulk_create`` turns every value into
    SQL in Python, half the time of writing a 5,000-file import's history (95,000
    versions), where the sqlite3 module binds them in C. Elsewhere with ``bulk_create``:
    on PostgreSQL it is one ``INSERT … SELECT * FROM UNNEST(…)`` per batch, where psycopg's
    ``executemany`` would send a statement per row."""
    fields = [model._meta.get_field(name) for name in names]
    if connection.vendor != "sqlite":
        model.objects.bulk_create(model(**dict(zip((field.attname for field in fields), row))) for row in rows)
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(names))})", list(rows))


class _HistorySerializer(PythonSerializer):
    """Django's "python" serializer (what reversion's "json" versions hold), taking
    many-to-many values from the prefetch cache alone: Django's own builds a queryset for
    every such field of every object even when the prefetched values are there, which costs
    a 5,000-file import a second and a half."""

    def handle_m2m_field(self, obj, field):
        prefetched = getattr(obj, "_prefetched_objects_cache", {})
        if field.remote_field.through._meta.auto_created and field.name in prefetched:
            self._current[field.name] = [self._value_from_field(related, related._meta.pk) for related in prefetched[field.name]]
        else:
            super().handle_m2m_field(obj, field)


def _matches(article, source):
    """Whether ``article`` (its categories, redirects, sections and code rows prefetched or
    not) already says what ``source`` says, related articles aside (``_link`` sets those)."""
    current = ArticleSource.from_article(article)
    current.related = source.related
    # The code lookup table must agree too (a raw write elsewhere could have left it behind).
    rows_agree = {row.code for row in article.code_rows.all()} == {code.replace(".", "") for code in current.codes}
    return current == source and rows_agree


def _drop_unknown_categories(sources, report):
    known = set(Category.objects.values_list("name", flat=True))
    for slug, source in list(sources.items()):
        unknown = [name for name in source.categories if name not in known]
        if unknown:
            del sources[slug]
            allowed = "; ".join(sorted(known))
            report.errors.append(ContentError(source.path, f"unknown category '{unknown[0]}'; use one of: {allowed}", source.lines["categories"]))


def _keep_renames(sources, report):
    """A file under an address an article had before it was renamed in the admin is not
    loaded (it would bring the article back twice): a warning names the current slug."""
    renamed = dict(ArticleRedirect.objects.filter(old_slug__in=list(sources)).values_list("old_slug", "article__slug"))
    existing = set(Article.objects.filter(slug__in=list(renamed)).values_list("slug", flat=True))
    for old, new in renamed.items():
        if old not in existing:
            source = sources.pop(old)
            report.unchanged.append(old)
            report.warnings.append(ContentError(source.path, f"'{old}' was renamed to '{new}' in the admin, so this file was not "
                                                             f"loaded; export the article again to update the file"))


def _follow_old_addresses(sources, report):
    """A ``[[link]]`` (or ``related`` entry) to an article's former slug is rewritten to its
    current slug, with a warning naming it, so the file loads and the link works."""
    current = dict(ArticleRedirect.objects.values_list("old_slug", "article__slug"))
    real = set(Article.objects.values_list("slug", flat=True)) | set(sources)
    for source in sources.values():
        for old, line in list(source.link_targets().items()):
            new = current.get(old)
            if new is None or old in real:
                continue
            source.sections = {kind: markdown.rename_links(text, old, new) for kind, text in source.sections.items()}
            source.related = sorted({new if slug == old else slug for slug in source.related})
            links = source.lines.get("links", {})
            if old in links:
                links[new] = links.pop(old)
            report.warnings.append(ContentError(source.path, f"'{old}' is a former address of '{new}': the link now names '{new}'; "
                                                             f"update the file to [[{new}]]", line))


def _drop_broken_links(sources, report):
    """Reject files linking to unknown articles, until no rejection breaks another file."""
    in_database = set(Article.objects.values_list("slug", flat=True))
    while True:
        known = in_database | set(sources)
        broken = {
            slug: (target, line)
            for slug, source in sources.items()
            for target, line in source.link_targets().items()
            if target not in known
        }
        if not broken:
            return
        for slug, (target, line) in broken.items():
            source = sources.pop(slug)
            what = "related article" if line == source.lines.get("related") else "link"
            report.errors.append(ContentError(source.path, f"{what} '{target}' names no article; fix the slug or add content/{target}.md", line))


def apply_source(source, user=None, also_published=()):
    """Create or update the article for ``source``; return 'created', 'updated' or 'unchanged'.

    Raises ``PermissionDenied`` when ``user`` may not make that change, and ``WorkflowError``
    when a published source fails the publishing checks (``workflow.publish_problems``;
    ``also_published``: slugs to count as published); nothing is written then.
    """
    article = Article.objects.select_for_update().filter(slug=source.slug).first()
    current_review = (article.reviewed_on, article.reviewed_by) if article is not None else (None, "")
    if article is not None and _matches(article, source):  # related articles are set in the last pass
        return "unchanged"
    refusal = _refusal(source, user, article, also_published)
    if refusal is not None:
        raise refusal
    outcome = "created" if article is None else "updated"
    article = article or Article(slug=source.slug)
    for name in ("title", "kind", "schema_type", "summary", "also_known_as", "reviewed_on", "reviewed_by", "status"):
        setattr(article, name, getattr(source, name))
    article.emergency_signs, article.codes = source.emergency, source.codes
    if user is not None and not can_publish(user):
        # As in the admin: only a medical reviewer records a review.
        article.reviewed_on, article.reviewed_by = (current_review if article.pk else (None, ""))
    article.updated_at = timezone.now()
    article.save()
    article.categories.set(Category.objects.filter(name__in=source.categories))
    article.related.set(Article.objects.filter(slug__in=source.related))
    article.set_sections(source.sections)
    # Former addresses (``redirect_from``): an address an article now has stays that article's.
    taken = set(Article.objects.filter(slug__in=source.redirect_from).values_list("slug", flat=True))
    claimed = set(ArticleRedirect.objects.filter(old_slug__in=source.redirect_from).exclude(article=article).values_list("old_slug", flat=True))
    for old in source.redirect_from:
        if old not in taken and old not in claimed:  # never another article's old address
            ArticleRedirect.objects.get_or_create(old_slug=old, defaults={"article": article})
    return outcome
