"""Articles of every kind (``kinds``) stored as structured sections.

Sections live in their own model, ``ArticleSection`` (one row per section present,
keyed by a fixed ``SectionKind``), rather than a Markdown/HTML column pair per section on
``Article``: a page, the search index and the admin iterate one ordered list; an absent
section is an absent row rather than two empty columns; a new section kind is one enum
member rather than a migration of every article; and each section is indexed on its
own so a search hit can point at its anchor. The page stays at a constant number of
queries through ``prefetch_related``.

Markdown is rendered to sanitized HTML when an article is saved (``render_sections``),
never per request. ``[[slug]]`` links are recorded in ``ArticleLink`` so that when a
linked article is published, unpublished, renamed or deleted, the pages linking to it
are re-rendered.

Live pages hold only reviewed text: a link to an article that is not published shows
the link's own text, else the title that article had when it was last published
(``published_title``), else its slug, never a draft's title. So the *link state*
(``Article.link_state``) that decides whether linking pages are re-rendered is built
from published facts only, and saving a draft re-renders nothing else.
"""

import datetime
import uuid

import reversion
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Prefetch, Q
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import codes, markdown, readability
from .kinds import KINDS, ArticleKind, SectionKind, section_label
from .text import clean, clean_all
from .validators import codes_problem, emergency_signs_problem, validate_slug

__all__ = ["Article", "ArticleCode", "ArticleDraft", "ArticleImage", "ArticleLink", "ArticleRedirect", "ArticleSection", "Category", "SectionKind",
           "sections_rendered"]

# Sent when re-rendering changed an article's section HTML (a linked article was
# published, unpublished, renamed or deleted): ``article``, ``sections`` (the changed ones).
sections_rendered = Signal()


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("conditions:category", args=[self.slug])


class ArticleQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Article.Status.PUBLISHED)

    def last_published_change(self):
        """When the newest published article last changed (``None`` with none published)."""
        return self.published().aggregate(newest=models.Max("updated_at"))["newest"]

    def review_due_by(self, day):
        """Articles whose next review falls on or before ``day`` (never reviewed counts as due)."""
        return self.filter(Q(reviewed_on__isnull=True) | Q(reviewed_on__lte=add_years(day, -review_interval_years())))

    def review_overdue(self):
        """Articles whose next review was due before today (``Article.review_overdue``, in SQL)."""
        return self.review_due_by(timezone.localdate() - datetime.timedelta(days=1))

    def review_due_within(self, days):
        """Articles not yet overdue whose next review falls within ``days`` days from today."""
        return self.review_due_by(timezone.localdate() + datetime.timedelta(days=days)).exclude(pk__in=self.review_overdue().values("pk"))

    def linking_to_any(self, slugs):
        """Articles whose text links to any of ``slugs``."""
        return self.filter(outgoing_links__target_slug__in=slugs).distinct()

    def with_page_data(self):
        """Everything the article page shows, in a fixed number of queries."""
        return self.prefetch_related(
            "sections",
            "categories",
            Prefetch("related", queryset=Article.objects.published().order_by("title")),
        )


@reversion.register(follow=["sections"])
class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        PUBLISHED = "published", _("Published")

    Kind = ArticleKind

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, validators=[validate_slug])
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.CONDITION, db_index=True)
    schema_type = models.CharField(
        max_length=40, blank=True,
        help_text=_("The schema.org type the article is about, when more precise than its kind's (ImagingTest, Drug, …)."),
    )
    summary = models.TextField(help_text=_("One or two plain-language sentences."))
    also_known_as = models.JSONField(default=list, blank=True, help_text=_("Other names, abbreviations and lay terms."))
    # ICD-10-CM codes, dotted (``codes``): condition and symptom articles, as for emergency signs.
    codes = models.JSONField(
        "ICD-10-CM codes", default=list, blank=True,
        help_text=_("Diagnosis codes a patient's chart may carry for this topic: a code or a category (M81.0, M17, R52)."))
    # Signs that need emergency care now (condition and symptom articles; ``kinds.KindInfo``).
    emergency_signs = models.JSONField(
        "emergency signs", default=list, blank=True,
        help_text=_("Short phrases finishing “Call [the emergency number] or go to the emergency room if you have: …”."))
    categories = models.ManyToManyField(Category, related_name="articles", blank=True)
    related = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+")
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT, db_index=True)
    reviewed_on = models.DateField(null=True, blank=True, help_text=_("Date of the last medical review."))
    reviewed_by = models.CharField(max_length=200, blank=True, help_text=_("Only after a real medical review."))
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the editorial content changes, not on every save: re-importing an
    # unchanged file must leave it alone.
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The reviewed title live pages may show in links while the article is not published.
    published_title = models.CharField(max_length=200, blank=True, editable=False)
    # Optimistic locking: every save of the article or of its pending draft raises the
    # version in one compare-and-set UPDATE (``claim_version``), so a form opened at an
    # older version cannot overwrite what someone else saved meanwhile.
    version = models.PositiveIntegerField(default=1, editable=False)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Flesch–Kincaid grade of the saved text (conditions.readability); None: too little text.
    reading_grade = models.FloatField("reading grade", null=True, blank=True, editable=False)
    # The review gate: who sent the article for review, who approved it, and what a reviewer
    # said when returning it to draft (shown to the editor on the form).
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", editable=False)
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    review_comment = models.TextField(blank=True, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        permissions = [("publish_article", "Can publish articles")]

    def __str__(self):
        return self.title

    LINK_STATE_FIELDS = ("slug", "kind", "title", "status", "published_title")

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        instance = super().from_db(db, field_names, values, **kwargs)
        instance._saved_link_state = instance.link_state()
        return instance

    def link_state(self):
        """``(slug, is_published, link_title, kind)``: all that other pages show of this article
        (the kind decides its address).

        ``None`` when a field it needs was deferred (``.only()``), so loading a list never
        costs a query per row.
        """
        if any(name not in self.__dict__ for name in self.LINK_STATE_FIELDS):
            return None
        return (self.slug, self.is_published, self.link_title, self.kind)

    @property
    def link_title(self):
        """The title a link from another page may show: the live title, or the one last published ('' if never)."""
        return self.title if self.is_published else self.published_title

    @property
    def was_published(self):
        """Whether the article is live in the database (as loaded or last saved), before any unsaved change."""
        previous = getattr(self, "_saved_link_state", None)
        return bool(previous and previous[1])

    def clean(self):
        super().clean()
        info = KINDS.get(self.kind)
        if info is not None and self.schema_type and self.schema_type not in info.schema_types:
            raise ValidationError({"schema_type": f"“{self.schema_type}” does not fit a {info.label.lower()} article; "
                                                  f"use one of {', '.join(info.schema_types)}, or leave it empty."})
        problem = emergency_signs_problem(self.kind, clean_all(self.emergency_signs or []))
        if problem:
            raise ValidationError({"emergency_signs": problem})
        problem = codes_problem(self.kind, self.codes or [])
        if problem:
            raise ValidationError({"codes": problem})

    def get_absolute_url(self):
        return reverse("conditions:article", args=[KINDS[self.kind].path, self.slug])

    @property
    def kind_info(self):
        """The ``kinds.KindInfo`` of this article's kind."""
        return KINDS[self.kind]

    @property
    def about_type(self):
        """The schema.org type the article is about: its ``schema_type`` if allowed for its kind, else the kind's default."""
        info = self.kind_info
        return self.schema_type if self.schema_type in info.schema_types else info.default_schema_type

    @property
    def has_review(self):
        """Whether a medical review is recorded: a date and who reviewed it. Only then may a page
        say "Last reviewed" (written and checked by the team is not a clinician's review)."""
        return bool(self.reviewed_on and self.reviewed_by)

    @property
    def next_review_due(self):
        """The last review plus the review interval (``HEALTHLIB_REVIEW_INTERVAL_YEARS``)."""
        return add_years(self.reviewed_on, review_interval_years()) if self.reviewed_on else None

    @property
    def review_overdue(self):
        due = self.next_review_due
        return due is None or due < timezone.localdate()

    @property
    def is_published(self):
        return self.status == self.Status.PUBLISHED

    def claim_version(self, seen, user):
        """Raise the stored version from ``seen`` to ``seen + 1`` (one UPDATE that only matches
        while the row is still at ``seen``), recording ``user`` as the last to change it.
        Returns whether it matched; ``False`` means someone saved the article meanwhile."""
        now = timezone.now()
        claimed = Article.objects.filter(pk=self.pk, version=seen).update(
            version=models.F("version") + 1, changed_by=user if getattr(user, "pk", None) else None, changed_at=now)
        if claimed:
            self.version, self.changed_at = seen + 1, now
            self.changed_by = user if getattr(user, "pk", None) else None
        return bool(claimed)

    def normalize(self):
        """Put the fields in the one form they are stored in (``save`` calls it; so does the
        importer's bulk path, which saves without ``save``)."""
        # Text as pasted, in one form (conditions.text): NFC, no soft hyphens or zero-width characters.
        self.title, self.summary, self.published_title = clean(self.title), clean(self.summary), clean(self.published_title)
        self.also_known_as = clean_all(self.also_known_as or [])
        # Only condition and symptom articles have emergency signs: a kind changed by a path that
        # skips the form's check (a version restored, an old draft published) leaves none behind.
        info = KINDS.get(self.kind)
        self.emergency_signs = clean_all(self.emergency_signs or []) if info is None or info.is_problem else []
        # Codes likewise (the same kinds); stored dotted and upper case, each once.
        known = (codes.compact(code) for code in (self.codes or []) if info is None or info.is_problem)
        self.codes = list(dict.fromkeys(codes.dotted(code) for code in known if code))
        if self.is_published:
            self.published_at = self.published_at or timezone.now()
            self.published_title = self.title

    def save(self, *args, **kwargs):
        self.normalize()
        previous = getattr(self, "_saved_link_state", None)
        if not self.is_published and previous is not None and previous[0] != self.slug:
            # The title it had live belongs to its old address: links to the new one must not
            # borrow it (an editor could otherwise put it under another article's links).
            self.published_title = ""
        adding = self._state.adding
        with transaction.atomic():
            super().save(*args, **kwargs)
            if "codes" in self.__dict__:  # loaded, so possibly changed: the lookup table (``ArticleCode``) follows
                stored = set() if adding else set(self.code_rows.values_list("code", flat=True))
                wanted = {codes.compact(code) for code in self.codes}
                if stored != wanted:
                    self.code_rows.exclude(code__in=wanted).delete()
                    # ignore_conflicts: an unsaved instance given an existing pk finds its rows already there.
                    ArticleCode.objects.bulk_create([ArticleCode(article=self, code=code) for code in wanted - stored],
                                                    ignore_conflicts=True)
            # An address people may have is never broken: a renamed article that was ever
            # published keeps its old address as a redirect (to the article, so renaming
            # again leaves no chain), and an article taking an old address takes it over.
            ArticleRedirect.objects.filter(old_slug=self.slug).delete()
            if previous is not None and previous[0] != self.slug:
                if self.published_at is not None:
                    ArticleRedirect.objects.update_or_create(old_slug=previous[0], defaults={"article": self})
                self._follow_rename(previous[0])
            if previous != self.link_state() and (previous is not None or self.is_published):
                # Only what other pages show changed them: a draft's edits never reach live pages.
                stale = {self.slug} | ({previous[0]} if previous else set())
                for article in Article.objects.linking_to_any(stale).exclude(pk=self.pk):
                    article.render_sections()
            self._saved_link_state = self.link_state()

    def _follow_rename(self, old_slug):
        """Rewrite ``[[old_slug]]`` and ``[[old_slug|text]]`` in every other article's sections
        to the new slug, each change recorded in that article's history, so every article
        stays saveable and every link keeps working (called inside the rename's transaction)."""
        import reversion as _reversion

        linking = list(Article.objects.linking_to_any([old_slug]).exclude(pk=self.pk))
        # Unpublished changes of other articles may link to it too, where the live text does not.
        for draft in ArticleDraft.objects.exclude(article__in=[*linking, self]).select_related("article"):
            self._follow_rename_in_draft(draft.article, old_slug)
        for article in linking:
            changed = False
            for section in article.sections.all():
                text = markdown.rename_links(section.markdown, old_slug, self.slug)
                if text != section.markdown:
                    section.markdown = text
                    section.save()
                    changed = True
            changed = self._follow_rename_in_draft(article, old_slug) or changed
            if changed:
                note = f"Link updated for rename: [[{old_slug}]] → [[{self.slug}]]"
                if _reversion.is_active():  # the rename's own revision: these versions join it
                    _reversion.set_comment("; ".join(filter(None, [_reversion.get_comment(), note])))
                    self._add_to_history(article)
                else:
                    with _reversion.create_revision():
                        _reversion.set_comment(note)
                        self._add_to_history(article)
                article.render_sections()

    def _follow_rename_in_draft(self, article, old_slug):
        """The same rewrite in ``article``'s unpublished changes, if it has any."""
        draft = ArticleDraft.objects.filter(article=article).first()
        if draft is None:
            return False
        sections = {kind: markdown.rename_links(text, old_slug, self.slug) for kind, text in draft.sections.items()}
        if sections == draft.sections:
            return False
        draft.content = {**draft.content, "sections": sections}
        draft.save(update_fields=["content"])
        return True

    @staticmethod
    def _add_to_history(article):
        import reversion as _reversion

        _reversion.add_to_revision(article)
        for section in article.sections.all():
            _reversion.add_to_revision(section)

    @transaction.atomic
    def set_sections(self, markdown_by_kind):
        """Replace the sections with ``{kind: markdown}`` and render them."""
        self.sections.exclude(kind__in=markdown_by_kind).delete()
        existing = {section.kind: section for section in self.sections.all()}
        for kind, text in markdown_by_kind.items():
            section = existing.get(kind) or ArticleSection(article=self, kind=kind)
            section.markdown = text
            section.save()
        self.render_sections()
        self.reading_grade = reading_grade(markdown_by_kind)
        Article.objects.filter(pk=self.pk).update(reading_grade=self.reading_grade)

    def render_sections(self):
        """Render every section to HTML (anchors unique across the page) and record links."""
        sections = list(self.sections.all())
        slugs = set().union(*(markdown.linked_slugs(section.markdown) for section in sections))
        targets, images = _render_context([section.markdown for section in sections])
        changed = []
        for section, html in zip(sections, render_page([section.markdown for section in sections], targets, images)):
            if html != section.html:
                section.html = html
                changed.append(section)
        ArticleSection.objects.bulk_update(changed, ["html"])
        if changed:
            # bulk_update sends no post_save: say so, for the search index and the page cache.
            sections_rendered.send(sender=Article, article=self, sections=changed)
        self.outgoing_links.exclude(target_slug__in=slugs).delete()
        known = set(self.outgoing_links.values_list("target_slug", flat=True))
        ArticleLink.objects.bulk_create(ArticleLink(source=self, target_slug=slug) for slug in sorted(slugs - known))
        return sections


def reading_grade(markdown_by_kind):
    """The Flesch–Kincaid grade of an article's text as saved (``{kind: markdown}``), for the
    admin's list and filter; ``None`` with too little text (``conditions.readability``)."""
    return readability.of_sections({kind: clean(text) for kind, text in markdown_by_kind.items()})[1].flesch_kincaid


def render_page(texts, targets, images):
    """The HTML of a page's sections from their Markdown ``texts`` (in page order): a list of
    str, heading anchors unique across the page. ``targets``: ``{slug: article}`` for the
    linked articles (anything with the link-state fields; ``Article.link_state``); ``images``:
    ``{id: ArticleImage}``. Pure: it reads no database (the importer renders in worker processes)."""
    used_ids = set(SectionKind.values)
    return [markdown.render(text, targets=targets, used_ids=used_ids, images=images) for text in texts]


def _render_context(texts):
    """The linked articles and library images that Markdown ``texts`` refer to."""
    slugs = set().union(*(markdown.linked_slugs(text) for text in texts))
    targets = {article.slug: article for article in Article.objects.filter(slug__in=slugs).only(*Article.LINK_STATE_FIELDS)}
    return targets, ArticleImage.objects.for_texts(texts)


def render_unsaved_sections(markdown_by_kind, article):
    """Unsaved ``ArticleSection`` objects of ``article`` in page order, rendered as the page
    would render them: the staff preview of a published article's unpublished changes."""
    markdown_by_kind = {kind: clean(text) for kind, text in markdown_by_kind.items()}  # as saving would store them
    texts = [text for text in markdown_by_kind.values() if text]
    targets, images = _render_context(texts)
    sections = sorted((ArticleSection(article=article, kind=kind, markdown=text, position=SectionKind.position(kind))
                       for kind, text in markdown_by_kind.items() if text and kind in SectionKind.values), key=lambda s: s.position)
    for section, html in zip(sections, render_page([section.markdown for section in sections], targets, images)):
        section.html = html
    return sections


def render_preview(text):
    """One section rendered exactly as the article page would render it (the editor's preview)."""
    text = clean(text)  # as ArticleSection.save stores it
    targets, images = _render_context([text])
    return markdown.render(text, targets=targets, used_ids=set(SectionKind.values), images=images)


class ArticleRedirect(models.Model):
    """An address an article had: ``/<kind>/<old_slug>/`` (and the API's) answers 301 to the
    article's current address. Points at the article, not at a slug, so renaming A → B → C
    sends both A and B straight to C."""

    old_slug = models.SlugField(max_length=200, unique=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="redirects")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["old_slug"]

    def __str__(self):
        return f"{self.old_slug} → {self.article.slug}"


@reversion.register()
class ArticleDraft(models.Model):
    """The pending next version of a published article: written and reviewed while the
    published one stays live (the public page, search, feeds, the sitemap and the API
    read ``Article`` only). Publishing it copies it into the article; discarding deletes it.

    ``content`` holds what the editor's form holds: ``title``, ``slug``, ``kind``,
    ``schema_type``, ``summary``, ``also_known_as``, ``codes`` and ``emergency_signs``
    (lists of str), ``categories`` and ``related`` (lists of primary keys) and ``sections``
    (``{section kind: markdown}``).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="pending_draft")
    content = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    def __str__(self):
        return f"Pending changes to {self.article}"

    @property
    def sections(self):
        """``{section kind: markdown}`` of the draft."""
        return dict(self.content.get("sections", {}))


@reversion.register()
class ArticleSection(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="sections")
    kind = models.CharField(max_length=40, choices=SectionKind)
    position = models.PositiveSmallIntegerField(editable=False)
    markdown = models.TextField()
    html = models.TextField(editable=False, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["article", "kind"], name="unique_section_kind_per_article")]

    def __str__(self):
        # Not get_kind_display(), which hashes every choice: a bulk import names 40,000 sections in their history.
        try:
            label = SectionKind(self.kind).label
        except ValueError:
            label = self.kind
        return f"{self.article} – {label}"

    @property
    def template_names(self):
        """A section kind may have its own template (key points, references)."""
        return [f"conditions/sections/{self.kind}.html", "conditions/sections/section.html"]

    @property
    def label(self):
        """The heading shown on the page ("How It Works" for a medicine's Procedure Details)."""
        return section_label(self.kind, self.article.schema_type)

    def save(self, *args, **kwargs):
        self.position = SectionKind.position(self.kind)
        self.markdown = clean(self.markdown)
        super().save(*args, **kwargs)


class ArticleCode(models.Model):
    """One ICD-10-CM code of an article, compact (``M810``): the index the code lookups
    (``/api/v1/codes/``, ``/infobutton/``) query in one statement. Derived from
    ``Article.codes`` on every save; never edited on its own."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="code_rows")
    code = models.CharField(max_length=codes.MAX_LENGTH, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "code"], name="unique_code_per_article")]

    def __str__(self):
        return f"{codes.dotted(self.code)}: {self.article}"


class ArticleLink(models.Model):
    """A ``[[slug]]`` link from an article's text, kept by slug so it may point at an
    article that does not exist yet (loaded later in the same import)."""

    source = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="outgoing_links")
    target_slug = models.SlugField(max_length=200, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "target_slug"], name="unique_link_per_article")]

    def __str__(self):
        return f"Link from “{self.source}” to [[{self.target_slug}]]"


def review_interval_years():
    return settings.HEALTHLIB_REVIEW_INTERVAL_YEARS


def add_years(day, years):
    """``day`` moved by whole years; 29 February becomes 28 February in other years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class ArticleImageQuerySet(models.QuerySet):
    def for_texts(self, texts):
        """``{id: image}`` for the library images referenced in Markdown ``texts``."""
        ids = set().union(*(markdown.image_ids(text) for text in texts))
        return {image.pk: image for image in self.filter(pk__in=ids)} if ids else {}


class ArticleImage(models.Model):
    """An uploaded image, decoded and re-encoded by ``conditions.images`` (never stored as sent).

    Files: ``images/<id>/original.<ext>`` (capped in size, metadata stripped) and one
    WebP per width in ``renditions``; the article page offers them through ``srcset``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    format = models.CharField(max_length=10)  # the original's extension: jpg, png, webp, gif
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    renditions = models.JSONField(default=list)  # WebP widths, ascending
    original_name = models.CharField(max_length=255, blank=True, help_text=_("The uploaded file's name, for reference only."))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = ArticleImageQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self):
        return self.original_name or str(self.pk)

    @property
    def folder(self):
        return f"images/{self.pk.hex}"

    def file_name(self, width=None):
        return f"{self.folder}/{width}.webp" if width else f"{self.folder}/original.{self.format}"

    @property
    def url(self):
        return default_storage.url(self.file_name())

    @property
    def srcset(self):
        candidates = [f"{default_storage.url(self.file_name(width))} {width}w" for width in self.renditions]
        return ", ".join([*candidates, f"{self.url} {self.width}w"])

    def file_names(self):
        """Every stored file of the image: the original and each rendition."""
        return [self.file_name(), *(self.file_name(width) for width in self.renditions)]

    def used_by(self):
        """The articles whose text, or whose unpublished changes, show this image, by title."""
        marker = f"{self.folder}/original."
        articles = set(Article.objects.filter(sections__markdown__contains=marker).distinct())
        articles |= {draft.article for draft in ArticleDraft.objects.select_related("article")
                     if any(marker in (text or "") for text in draft.sections.values())}
        return sorted(articles, key=lambda article: article.title)


def last_published_change():
    """``HEALTHLIB_PAGES_LAST_MODIFIED``: the page cache's ``Last-Modified`` for public pages."""
    return Article.objects.last_published_change()
