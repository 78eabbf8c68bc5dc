"""The editors' admin: one form per article in page order, a review workflow, history.

Each section is a django-markdownx editor whose live preview is the page's own renderer
(``conditions.editing``). Roles are groups made by a data migration: ``Editor`` writes
and submits for review; ``Medical reviewer`` may also publish (the
``conditions.publish_article`` permission), record reviews and delete. Every check is
made on the server: the status choices offered, the read-only fields, the actions and
``save_model`` all ask the same gate (``conditions.permissions``), and so do the list
actions, restore and recover. Published articles are changed only by someone who may
publish, so live medical text never changes without a reviewer. History is
django-reversion (see ``conditions.history`` for why); its "revert" page is removed and
its "recover" page replaced: a recovery accepts only a version of a deleted article,
brings back that article and its own sections, and always as a draft.
"""

import reversion
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from markdownx.widgets import AdminMarkdownxWidget
from reversion.admin import VersionAdmin
from reversion.models import Version

from . import history, markdown
from .kinds import KINDS, sections_of
from .models import Article, ArticleImage, Category, SectionKind, review_interval_years
from .permissions import can_publish, check_change, may_change

SECTION_FIELDS = {f"section_{kind.value.replace('-', '_')}": kind for kind in SectionKind}
FIELD_OF_SECTION = {kind.value: name for name, kind in SECTION_FIELDS.items()}


def section_fields(kind):
    """The form fields of ``kind``'s sections, in page order."""
    return [FIELD_OF_SECTION[section] for section in sections_of(kind)]


def sections_kind(request, article=None):
    """The kind whose sections the form shows: the one the editor's page showed (on a POST),
    else the article's, else the ``?kind=`` an add link asks for, else condition."""
    asked = request.POST.get("sections_kind") if request.method == "POST" else request.GET.get("kind")
    if asked in KINDS and (request.method == "POST" or article is None):
        return asked
    return article.kind if article is not None else Article.Kind.CONDITION
REVIEW_WINDOW_DAYS = 90


class ArticleForm(forms.ModelForm):
    also_known_as = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One name per line: abbreviations, British spellings, lay terms.",
    )

    class Meta:
        model = Article
        fields = ["title", "slug", "kind", "schema_type", "summary", "also_known_as", "categories", "related", "status", "reviewed_on",
                  "reviewed_by"]

    def __init__(self, *args, user=None, sections_kind=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sections_kind = sections_kind or self.instance.kind
        sections = {section.kind: section.markdown for section in self.instance.sections.all()} if self.instance.pk else {}
        # Which kind's sections the page showed travels with the form, so a kind changed in
        # the same submission is checked against the text the editor actually sent.
        self.fields["sections_kind"] = forms.ChoiceField(
            choices=Article.Kind.choices, initial=self.sections_kind, required=False, widget=forms.HiddenInput)
        for name in section_fields(self.sections_kind):
            kind = SECTION_FIELDS[name]
            self.fields[name] = forms.CharField(
                label=kind.label, required=kind == SectionKind.OVERVIEW, initial=sections.get(kind.value, ""),
                widget=AdminMarkdownxWidget(attrs={"rows": 12}), strip=False,
            )
        if "schema_type" in self.fields:
            self.fields["schema_type"].help_text = "Optional, by kind: " + "; ".join(
                f"{info.label}: {', '.join(info.schema_types)}" for info in KINDS.values() if len(info.schema_types) > 1)
        if self.instance.pk:
            self.initial["also_known_as"] = "\n".join(self.instance.also_known_as)
        if "status" in self.fields and user is not None and not can_publish(user):
            self.fields["status"].choices = [(value, label) for value, label in Article.Status.choices if value != Article.Status.PUBLISHED]
            self.fields["status"].help_text = "A medical reviewer publishes articles in review."

    def clean_also_known_as(self):
        names = [" ".join(line.split()) for line in self.cleaned_data["also_known_as"].splitlines()]
        return list(dict.fromkeys(name for name in names if name))

    def clean(self):
        cleaned = super().clean()
        # Browsers send textarea lines ending in CR LF; store LF, as the source files do, so
        # history compares words rather than line endings.
        for name in [*SECTION_FIELDS, "summary"]:
            if isinstance(cleaned.get(name), str):
                cleaned[name] = cleaned[name].replace("\r\n", "\n").replace("\r", "\n")
        kind = cleaned.get("kind")
        if kind in KINDS:
            # Nothing is dropped silently: text in a section the new kind lacks stops the change.
            orphaned = [str(SECTION_FIELDS[name].label) for name in self._section_names()
                        if (cleaned.get(name) or "").strip() and name not in section_fields(kind)]
            if orphaned:
                self.add_error("kind", f"A {Article.Kind(kind).label.lower()} article has no {', '.join(orphaned)} section"
                                       f"{'s' if len(orphaned) > 1 else ''}: move or delete that text first, then change the kind. "
                                       f"Nothing was saved.")
        for name in self._section_names():
            text = cleaned.get(name) or ""
            if markdown.ANY_WIKILINK_RE.search(text):
                for target in markdown.ANY_WIKILINK_RE.findall(text):
                    slug = target.split("|")[0].strip()
                    if not markdown.WIKILINK_RE.fullmatch(f"[[{target}]]") or not Article.objects.filter(slug=slug).exists():
                        self.add_error(name, f"[[{target}]] names no article: use an existing article's slug, e.g. [[bone-marrow-edema]].")
            missing_alt = markdown.images_without_alt(text)
            if missing_alt:
                self.add_error(name, f"{missing_alt} image(s) have no alt text: describe each one between the square brackets, "
                                     "e.g. ![MRI of a knee showing bone marrow edema](…).")
        return cleaned

    def _section_names(self):
        return [name for name in self.fields if name in SECTION_FIELDS]

    def section_texts(self):
        return {SECTION_FIELDS[name].value: self.cleaned_data[name] for name in self._section_names()
                if (self.cleaned_data.get(name) or "").strip()}


class ReviewOverdueFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("overdue", "Review overdue"), ("soon", f"Due in the next {REVIEW_WINDOW_DAYS} days")]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.review_overdue()
        if self.value() == "soon":
            return queryset.review_due_within(REVIEW_WINDOW_DAYS)
        return queryset


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    list_display = ["name", "slug"]
    readonly_fields = ["slug"]


@admin.register(ArticleImage)
class ArticleImageAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "original_name", "width", "height", "uploaded_by", "uploaded_at"]
    readonly_fields = ["thumbnail", "markdown", "format", "width", "height", "renditions", "original_name", "uploaded_by", "uploaded_at"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # images arrive through the editor's drag-and-drop upload

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Image")
    def thumbnail(self, image):
        return format_html('<img src="{}" width="120" alt="" loading="lazy">', image.url)

    @admin.display(description="Markdown to show it")
    def markdown(self, image):
        return f"![Describe the image here]({image.url})"


@admin.register(Article)
class ArticleAdmin(VersionAdmin):
    form = ArticleForm
    list_display = ["title", "kind", "status", "reviewed_on", "next_review", "updated_at"]
    list_filter = ["kind", "status", ReviewOverdueFilter, "categories"]
    search_fields = ["title", "slug", "summary"]
    autocomplete_fields = ["categories", "related"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["submit_for_review", "publish", "return_to_draft"]
    change_list_template = "admin/conditions/article/change_list.html"

    object_history_template = "admin/conditions/article/object_history.html"

    class Media:
        js = ["admin/js/markdownx-upload-errors.js"]

    def get_fieldsets(self, request, obj=None):
        # Someone who may only view (an editor, on a published article) sees the sections rendered.
        editable = obj is None or self.has_change_permission(request, obj)
        kind = sections_kind(request, obj)
        return [
            (None, {"fields": ["title", "slug", "kind", "schema_type", "summary", "also_known_as"]}),
            (f"Sections of a {Article.Kind(kind).label.lower()} article (in page order)",
             {"fields": ["sections_kind", *section_fields(kind)] if editable else ["rendered_sections"]}),
            ("Related articles and categories", {"fields": ["related", "categories"]}),
            ("Review and publishing", {"fields": ["status", "reviewed_on", "reviewed_by"]}),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The model's fields; the form adds one field per section itself.
        kwargs["fields"] = [name for name in flatten_fieldsets(self.get_fieldsets(request, obj))
                            if name not in SECTION_FIELDS and name not in ("rendered_sections", "sections_kind")]
        form = super().get_form(request, obj, change=change, **kwargs)
        user, kind = request.user, sections_kind(request, obj)

        class FormForUser(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=user, sections_kind=kind, **kw)

        return FormForUser

    def get_readonly_fields(self, request, obj=None):
        return [] if can_publish(request.user) else ["reviewed_on", "reviewed_by"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_published and not can_publish(request.user):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published and not can_publish(request.user):
            return False
        return super().has_delete_permission(request, obj)

    def has_publish_permission(self, request):
        return can_publish(request.user)

    @admin.display(description="Sections")
    def rendered_sections(self, article):
        # Section HTML is sanitized when saved (conditions.markdown), as on the public page.
        return format_html_join(mark_safe(""), "<h2>{}</h2>{}", ((s.get_kind_display(), mark_safe(s.html)) for s in article.sections.all()))

    @admin.display(description="Next review due", ordering="reviewed_on")
    def next_review(self, article):
        due = article.next_review_due
        if due is None:
            return "Not reviewed"
        return format_html('<strong class="review-overdue">{} (overdue)</strong>', due) if article.review_overdue else due

    # -- saving ---------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        current = Article.objects.select_for_update().filter(pk=obj.pk).first() if change else None
        check_change(request.user, current, obj.status)
        if current is not None and not can_publish(request.user):
            obj.reviewed_on, obj.reviewed_by = current.reviewed_on, current.reviewed_by
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.set_sections(form.section_texts())

    # -- workflow actions -----------------------------------------------------------

    def _move(self, request, queryset, status, allowed_from, verb):
        moved = refused = 0
        with transaction.atomic():
            # Locked by primary key: the list's own queryset may carry DISTINCT (m2m filters),
            # which PostgreSQL refuses with FOR UPDATE.
            articles = list(Article.objects.select_for_update().filter(pk__in=queryset.values("pk")))
            for article in articles:
                if article.status not in allowed_from:
                    continue
                if not may_change(request.user, article, status):
                    refused += 1
                    continue
                with reversion.create_revision():
                    article.status = status
                    article.updated_at = timezone.now()  # feeds, the API's updated_since and Last-Modified follow
                    article.save()
                    reversion.set_user(request.user)
                    reversion.set_comment(f"{verb} ({Article.Status(status).label.lower()})")
                moved += 1
        skipped = len(articles) - moved - refused
        message = f"{verb}: {moved} article(s)."
        if refused:
            message += f" {refused} refused: only a medical reviewer can publish, unpublish or change a published article."
        if skipped:
            message += f" {skipped} left as they were (not in a state this action applies to)."
        self.message_user(request, message, messages.SUCCESS if moved and not refused else messages.WARNING)

    @admin.action(description="Submit selected articles for review", permissions=["change"])
    def submit_for_review(self, request, queryset):
        self._move(request, queryset, Article.Status.REVIEW, {Article.Status.DRAFT}, "Submitted for review")

    @admin.action(description="Approve and publish selected articles", permissions=["publish"])
    def publish(self, request, queryset):
        self._move(request, queryset, Article.Status.PUBLISHED, {Article.Status.DRAFT, Article.Status.REVIEW}, "Published")

    @admin.action(description="Return selected articles to draft (unpublish)", permissions=["change"])
    def return_to_draft(self, request, queryset):
        self._move(request, queryset, Article.Status.DRAFT, {Article.Status.REVIEW, Article.Status.PUBLISHED}, "Returned to draft")

    # -- history and reviews --------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        # django-reversion's own "revert" page checks permission on the *reverted* object;
        # compare/restore below replace it (recovering deleted articles stays).
        inherited = [url for url in super().get_urls()
                     if getattr(url, "name", None) not in ("conditions_article_revision", "conditions_article_recover")]
        return [
            path("recover/<int:version_id>/", view(self.recover_view), name="conditions_article_recover"),
            path("reviews/", view(self.reviews_view), name="conditions_article_reviews"),
            path("<path:object_id>/history/<int:version_id>/compare/", view(self.compare_view), name="conditions_article_compare"),
            path("<path:object_id>/history/<int:version_id>/restore/", view(self.restore_view), name="conditions_article_restore"),
        ] + inherited

    def _article_or_404(self, request, object_id):
        article = self.get_object(request, unquote(object_id))  # None for a missing or malformed id
        if article is None:
            raise Http404("No such article.")
        return article

    def history_view(self, request, object_id, extra_context=None):
        article = self._article_or_404(request, object_id)
        versions = history.versions_of(article).order_by("-revision__date_created", "-pk")
        # Django's own history page (reversion's links to the revert page removed above).
        return admin.ModelAdmin.history_view(self, request, object_id, {"versions": versions, **(extra_context or {})})

    def _version(self, request, object_id, version_id):
        article = self._article_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_for_object(article), pk=version_id)
        return article, version

    def compare_view(self, request, object_id, version_id):
        article, version = self._version(request, object_id, version_id)
        changes = history.compare(history.snapshot_of_version(version), history.snapshot_of_article(article))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Compare with the version of {timezone.localtime(version.revision.date_created):%d %B %Y %H:%M}",
            "article": article,
            "version": version,
            "changes": changes,
            "any_change": any(change.changed for change in changes),
            "can_restore": self.has_change_permission(request, article),
        }
        return TemplateResponse(request, "admin/conditions/article/compare.html", context)

    def restore_view(self, request, object_id, version_id):
        if request.method != "POST":
            return redirect("admin:conditions_article_compare", object_id, version_id)
        article, version = self._version(request, object_id, version_id)
        with transaction.atomic(), reversion.create_revision():
            # The gate on the article as it is now; the status stays as it is.
            article = Article.objects.select_for_update().get(pk=article.pk)
            check_change(request.user, article, article.status)
            article.updated_at = timezone.now()
            # Only this article and its own sections: a revision may hold other articles
            # saved by the same list action, and those are left as they are.
            notes = history.apply_version(article, version)
            reversion.set_user(request.user)
            saved_on = timezone.localtime(version.revision.date_created)
            reversion.set_comment(f"Restored the version of {saved_on:%d %B %Y %H:%M}")
        self.message_user(request, f"Restored “{article}” to the version of {saved_on:%d %B %Y %H:%M}; that is now the newest version.")
        for note in notes:
            self.message_user(request, note, messages.WARNING)
        return redirect("admin:conditions_article_history", article.pk)

    def recover_view(self, request, version_id, extra_context=None):
        """Bring back a deleted article, with its own sections, as a draft (GET shows what, POST does it)."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        version = history.deleted_article_version(version_id)
        if version is None:
            raise Http404("No deleted article has that version.")
        if request.method == "POST":
            with transaction.atomic(), reversion.create_revision():
                check_change(request.user, None, Article.Status.DRAFT)
                article = Article(pk=int(version.object_id), status=Article.Status.DRAFT, updated_at=timezone.now())
                data = version.field_dict
                article.reviewed_on, article.reviewed_by = data.get("reviewed_on"), data.get("reviewed_by", "")
                # The title it last had live (reviewed text), for links while it is a draft again.
                article.published_title = data.get("published_title", "")
                notes = history.apply_version(article, version)
                reversion.set_user(request.user)
                reversion.set_comment("Recovered as a draft")
            self.message_user(request, f"Recovered “{article}” as a draft; a medical reviewer publishes it again.")
            for note in notes:
                self.message_user(request, note, messages.WARNING)
            return redirect("admin:conditions_article_change", article.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Recover “{version.object_repr}” as a draft",
            "version": version,
            "sections": [SectionKind(kind).label for kind in history.sections_of_version(version) if kind in SectionKind.values],
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/conditions/article/recover.html", context)

    def reviews_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        overdue = Article.objects.review_overdue().order_by("reviewed_on", "title")
        soon = Article.objects.review_due_within(REVIEW_WINDOW_DAYS).order_by("reviewed_on", "title")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Medical reviews due",
            "overdue": overdue,
            "soon": soon,
            "window": REVIEW_WINDOW_DAYS,
            "interval": review_interval_years(),
            "today": today,
        }
        return TemplateResponse(request, "admin/conditions/article/reviews.html", context)

