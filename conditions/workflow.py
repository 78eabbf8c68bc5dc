"""The editorial workflow: draft → in review → published, and pending drafts of live articles.

An article that is not published is its own working copy: an editor writes it, submits
it for review, and a medical reviewer publishes it or returns it to draft with a comment.
A published article stays live while its next version is written: every edit of a live
article is saved as its ``ArticleDraft``, which goes through the same review and is then
published over the live text (or discarded). Whatever the route — the form, a list
action, a restore, an import — publishing passes the same gate: the publish permission,
a submitted (in review) text, and the blocking checks of ``publish_problems``. Each step
records who did it and when.

Every step here raises ``WorkflowError`` (a message for the editor) or ``PermissionDenied``
and changes nothing when it does.
"""

import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import markdown
from .kinds import SectionKind
from .models import Article, ArticleDraft, Category
from .permissions import can_publish


class WorkflowError(Exception):
    """A step that cannot be taken now; the message says why and what to do."""


# -- content: what an editor writes, as one dict --------------------------------------------

CONTENT_FIELDS = ("title", "slug", "kind", "schema_type", "summary", "also_known_as", "codes", "emergency_signs")


def content_of_article(article):
    """The article's editorial content as an ``ArticleDraft.content`` dict."""
    return {
        **{name: getattr(article, name) for name in CONTENT_FIELDS},
        "categories": sorted(article.categories.values_list("pk", flat=True)),
        "related": sorted(article.related.values_list("pk", flat=True)),
        "sections": {section.kind: section.markdown for section in article.sections.all()},
    }


def working_content(article):
    """What an editor works on: the pending draft's content, else the article's own."""
    draft = ArticleDraft.objects.filter(article=article).first()
    return draft.content if draft is not None else content_of_article(article)


def apply_content(article, content):
    """Write ``content`` into ``article`` (fields, categories, related articles, sections) and save it."""
    for name in CONTENT_FIELDS:
        if name in content:
            setattr(article, name, content[name])
    article.save()
    article.categories.set(Category.objects.filter(pk__in=content.get("categories", [])))
    article.related.set(Article.objects.filter(pk__in=content.get("related", [])).exclude(pk=article.pk))
    article.set_sections(content.get("sections", {}))


# -- the blocking checks -----------------------------------------------------------------------


def publish_problems(content, *, reviewed_on=None, article=None, also_published=(), live=None):
    """Why ``content`` cannot be published now: a list of messages (empty when it can).

    Every ``[[link]]`` must name a published article (or the article itself), the summary
    and the Overview must be there, every image must have alt text, and a review date may
    not lie in the future. ``also_published``: slugs to count as published as well;
    ``live``: the published slugs, when the caller has them (a batch), instead of a query.
    """
    problems = []
    if not (content.get("summary") or "").strip():
        problems.append(_("The summary is empty: write one or two plain-language sentences."))
    sections = content.get("sections", {})
    if not (sections.get(SectionKind.OVERVIEW.value) or "").strip():
        problems.append(_("The Overview section is empty."))
    own_slug = content.get("slug") or (article.slug if article is not None else "")
    if article is not None and own_slug != article.slug:
        taken = Article.objects.exclude(pk=article.pk).filter(slug=own_slug).first()
        if taken is not None:
            problems.append(_("The address “%(slug)s” now belongs to “%(other)s”: choose another.") % {"slug": own_slug, "other": taken})
    slugs = set().union(*(markdown.linked_slugs(text) for text in sections.values())) - {own_slug}
    if live is None:
        live = set(Article.objects.published().filter(slug__in=slugs).values_list("slug", flat=True))
    live = (slugs & set(live)) | (slugs & set(also_published))
    for slug in sorted(slugs - live):
        exists = Article.objects.filter(slug=slug).exists()
        problems.append(_("[[%(slug)s]] links to an article that is %(state)s: publish it first, or remove the link.")
                        % {"slug": slug, "state": _("not published") if exists else _("missing")})
    missing_alt = sum(markdown.images_without_alt(text) for text in sections.values())
    if missing_alt:
        problems.append(_("%(n)d image(s) have no alt text.") % {"n": missing_alt})
    if isinstance(reviewed_on, datetime.date) and reviewed_on > timezone.localdate():
        problems.append(_("The review date %(date)s is in the future.") % {"date": reviewed_on.isoformat()})
    return problems


def check_publishable(content, *, reviewed_on=None, article=None):
    problems = publish_problems(content, reviewed_on=reviewed_on, article=article)
    if problems:
        raise WorkflowError(_("Not published: ") + " ".join(problems))


def _require_publisher(user):
    if not can_publish(user):
        raise PermissionDenied(_("Only a medical reviewer can publish, unpublish or return an article in review to draft."))


# -- steps on an article that is not published ----------------------------------------------


@transaction.atomic
def submit(article, user):
    """Draft → in review."""
    if article.status != Article.Status.DRAFT:
        raise WorkflowError(_("Only a draft can be submitted for review."))
    article.status = Article.Status.REVIEW
    article.submitted_by, article.submitted_at, article.review_comment = user, timezone.now(), ""
    article.save()


@transaction.atomic
def publish(article, user):
    """In review → published, after the blocking checks; records the approver."""
    _require_publisher(user)
    if article.status != Article.Status.REVIEW:
        raise WorkflowError(_("Submit the article for review first: only an article in review can be published."))
    check_publishable(content_of_article(article), reviewed_on=article.reviewed_on, article=article)
    now = timezone.now()
    article.status = Article.Status.PUBLISHED
    article.approved_by, article.approved_at, article.updated_at = user, now, now
    article.save()


@transaction.atomic
def return_to_draft(article, user, comment):
    """In review → draft (an editor may withdraw an article from review too), or published →
    draft (unpublish: a reviewer only), with a comment for the editor."""
    if article.is_published:
        _require_publisher(user)
    if article.status == Article.Status.DRAFT:
        raise WorkflowError(_("The article is already a draft."))
    if not (comment or "").strip():
        raise WorkflowError(_("Say what needs changing: the comment is shown to the editor."))
    was_published = article.is_published
    article.status, article.review_comment = Article.Status.DRAFT, comment.strip()
    if was_published:
        article.updated_at = timezone.now()  # it left the public pages
    article.save()
    if was_published:
        fold_in_pending_changes(article)


def fold_in_pending_changes(article):
    """An unpublished article is its own working copy: its pending changes (if any) become its
    text, so nothing written is lost and no stale changes wait to be published over it later."""
    draft = ArticleDraft.objects.select_for_update().filter(article=article).first()
    if draft is not None:
        apply_content(article, draft.content)
        draft.delete()


# -- steps on the pending draft of a live article ---------------------------------------------


@transaction.atomic
def save_draft(article, content, user):
    """Keep ``content`` as the live ``article``'s pending draft (created or replaced)."""
    draft, _created = ArticleDraft.objects.select_for_update().get_or_create(article=article)
    draft.content, draft.updated_by, draft.updated_at = content, user, timezone.now()
    draft.save()
    return draft


@transaction.atomic
def submit_draft(article, user):
    draft = _draft(article)
    if draft.status != ArticleDraft.Status.DRAFT:
        raise WorkflowError(_("These changes are already in review."))
    draft.status, draft.submitted_by, draft.submitted_at, draft.review_comment = ArticleDraft.Status.REVIEW, user, timezone.now(), ""
    draft.save()


@transaction.atomic
def publish_draft(article, user):
    """Publish the pending draft over the live text (the draft must be in review)."""
    _require_publisher(user)
    draft = _draft(article)
    if draft.status != ArticleDraft.Status.REVIEW:
        raise WorkflowError(_("Submit the changes for review first: only changes in review can be published."))
    check_publishable(draft.content, reviewed_on=article.reviewed_on, article=article)
    now = timezone.now()
    article.approved_by, article.approved_at, article.updated_at = user, now, now
    article.submitted_by, article.submitted_at = draft.submitted_by, draft.submitted_at
    apply_content(article, draft.content)
    draft.delete()


@transaction.atomic
def return_draft(article, user, comment):
    _require_publisher(user)
    draft = _draft(article)
    if draft.status != ArticleDraft.Status.REVIEW:
        raise WorkflowError(_("These changes are not in review."))
    if not (comment or "").strip():
        raise WorkflowError(_("Say what needs changing: the comment is shown to the editor."))
    draft.status, draft.review_comment = ArticleDraft.Status.DRAFT, comment.strip()
    draft.save()


@transaction.atomic
def discard_draft(article, user):
    _draft(article).delete()


def _draft(article):
    draft = ArticleDraft.objects.select_for_update().filter(article=article).first()
    if draft is None:
        raise WorkflowError(_("This article has no unpublished changes."))
    return draft


def state_label(article, draft=None):
    """How the admin names where an article stands: "Draft", "In review", "Published",
    "Published, with unpublished changes" (and whether those are in review)."""
    if not article.is_published:
        return str(article.get_status_display())
    if draft is None:
        return str(_("Published"))
    if draft.status == ArticleDraft.Status.REVIEW:
        return str(_("Published, with unpublished changes in review"))
    return str(_("Published, with unpublished changes"))
