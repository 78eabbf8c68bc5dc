"""Load article sources into the database (``manage.py import_content``).

Every file is parsed and checked before anything is written: a file that breaks the
format, or links to an article that exists neither in the batch nor in the database,
is reported and skipped while the valid files load. Each file is written in its own
transaction and only when its content differs from the database, so a second run
changes nothing, timestamps included. ``related`` entries may point at articles later
in the same batch, so they are set in a second pass once every article exists.

Run with ``user`` (``import_content --user NAME``), every file passes the same gate as
the admin (``conditions.permissions``): an Editor's import may create and change drafts
but cannot publish, unpublish or change a live article, and the versions are theirs.
Without it the command acts as the site's operator (shell access to the server), as
``migrate`` does.
"""

from dataclasses import dataclass, field
from pathlib import Path

import reversion
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from . import markdown
from .content_format import ArticleSource, ContentError, parse
from .models import Article, ArticleRedirect, Category
from .permissions import can_publish, check_change
from .search.signals import deferred_index_updates
from .workflow import WorkflowError, publish_problems


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


def import_content(paths, user=None, new_only=False, progress=None):
    """Load source files (see the module docstring); the search index is updated once, at the end.

    ``user``: the acting user whose permissions each file is checked against (``None``: the operator).
    ``new_only``: create the articles the database lacks and leave every existing one as it
    is (reported as unchanged), so loading ``content/`` again never undoes admin work.
    ``progress``: a ``conditions.progress.Progress`` to report each stage on (``None``: silent).
    """
    with deferred_index_updates():
        return _import_content(paths, user, new_only, progress)


def _stage(progress, description, total):
    return progress.stage(description, total) if progress is not None else (lambda done: None)


def _import_content(paths, user, new_only=False, progress=None):
    files, errors = source_files(paths)
    report = ImportReport(errors=errors)
    sources = {}
    read = _stage(progress, "read files", len(files))
    for done, path in enumerate(files, start=1):
        read(done)
        try:
            source = parse(path)
        except ContentError as error:
            report.errors.append(error)
            continue
        except OSError as error:
            report.errors.append(ContentError(path, f"cannot be read: {error.strerror}"))
            continue
        if source.slug in sources:
            report.errors.append(ContentError(path, f"slug '{source.slug}' is also used by {sources[source.slug].path}", source.lines["slug"]))
            continue
        sources[source.slug] = source

    if new_only:
        existing = set(Article.objects.filter(slug__in=list(sources)).values_list("slug", flat=True))
        report.unchanged.extend(sorted(existing))
        sources = {slug: source for slug, source in sources.items() if slug not in existing}
    _keep_renames(sources, report)
    _drop_unknown_categories(sources, report)
    _follow_old_addresses(sources, report)
    _drop_broken_links(sources, report)

    changed = set()
    # Published files pass the same checks as publishing in the admin; links to files of
    # this import that are published count as links to published articles.
    published = {slug for slug, source in sources.items() if source.status == Article.Status.PUBLISHED}
    loaded = _stage(progress, "loaded", len(sources))
    for done, (slug, source) in enumerate(list(sources.items()), start=1):
        loaded(done)
        try:
            with transaction.atomic():
                outcome = apply_source(source, user, also_published=published)
        except (PermissionDenied, WorkflowError) as refusal:
            del sources[slug]
            report.errors.append(ContentError(source.path, f"not loaded: {refusal}", source.lines.get("status")))
            continue
        getattr(report, outcome).append(source.slug)
        if outcome != "unchanged":
            changed.add(source.slug)
    linked = _stage(progress, "linked", len(sources))
    for done, source in enumerate(sources.values(), start=1):
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
                reversion.set_comment(f"Imported from {source.path.name}" if source.path else "Imported")
    return report


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
    if article is not None:
        current = ArticleSource.from_article(article)
        # Related articles are set in the second pass; compare everything else here.
        current.related = source.related
        # The code lookup table must agree too (a raw write elsewhere could have left it behind).
        rows_agree = set(article.code_rows.values_list("code", flat=True)) == {code.replace(".", "") for code in current.codes}
        if current == source and rows_agree:
            return "unchanged"
    if user is not None:
        check_change(user, article, source.status)
    if source.status == Article.Status.PUBLISHED:
        content = {"slug": source.slug, "summary": source.summary, "sections": source.sections}
        problems = publish_problems(content, reviewed_on=source.reviewed_on, also_published=also_published)
        if problems:
            raise WorkflowError("not published: " + " ".join(problems))
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
