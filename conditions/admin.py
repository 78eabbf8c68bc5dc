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

import re

import reversion
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from markdownx.widgets import AdminMarkdownxWidget
from reversion.admin import VersionAdmin
from reversion.models import Version

from . import codes, history, markdown, readability, workflow
from .kinds import KINDS, sections_of
from .models import (
    Article,
    ArticleCode,
    ArticleDraft,
    ArticleImage,
    ArticleRedirect,
    Category,
    SectionKind,
    render_unsaved_sections,
    review_interval_years,
)
from .navigation import kind_trail
from .permissions import can_publish, check_change
from .text import clean as clean_text

# The buttons of the change form for a published article's pending changes (besides Save).
DRAFT_ACTIONS = {"_submit_changes", "_publish_changes", "_return_changes", "_discard_changes"}

SECTION_FIELDS = {f"section_{kind.value.replace('-', '_')}": kind for kind in SectionKind}
REFERENCES_NOTE = "Citations: not counted in the reading grade."
MAX_MEASURED_CHARS = 1_000_000  # the reading aids measure at most this much of a section (a 30,000-word section is ~200,000)
# Form fields that are not the article's own (not saved to it, not "changes" in History).
FORM_ONLY_FIELDS = ("rendered_sections", "sections_kind", "opened_version", "opened_content", "review_comment")
LIVE_STEP_MESSAGES = {
    "_save_changes": "Saved unpublished changes", "_submit_changes": "Submitted the changes for review",
    "_publish_changes": "Published the changes", "_return_changes": "Returned the changes to draft",
    "_discard_changes": "Discarded the unpublished changes",
    "_record_review": "Recorded the medical review",
}
LIVE_STEP_DONE = {
    "_save_changes": "Saved your changes to “{article}” as a draft: the published version stays live until a reviewer publishes them.",
    "_submit_changes": "Submitted the changes to “{article}” for review; the published version stays live meanwhile.",
    "_publish_changes": "Published the changes to “{article}”.",
    "_return_changes": "Returned the changes to “{article}” to draft, with your comment for the editor.",
    "_discard_changes": "Discarded the unpublished changes to “{article}”; the published version is unchanged.",
    "_record_review": "Recorded the medical review of “{article}”.",
}
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
OPENED_SALT = "conditions.admin.opened_content"


class LinesField(forms.CharField):
    """A list of names, one per line; unchanged when the same names come back (whatever the line endings)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        names = [" ".join(line.split()) for line in (super().to_python(value) or "").splitlines()]
        return list(dict.fromkeys(name for name in names if name))

    def has_changed(self, initial, data):
        return self.to_python(self.prepare_value(initial or [])) != self.to_python(data)


class EmergencySignsField(LinesField):
    """Emergency signs, one per line, as editors paste them: list markers ("- ", "• ", "1. ")
    and closing full stops are dropped (the page draws its own bullets), and a sign repeated in
    other capitals is kept once."""

    widget = forms.Textarea(attrs={"rows": 6, "cols": 80, "class": "vLargeTextField"})
    MARKER_RE = re.compile(r"^\s*(?:[-*•·‣▪◦–—]|\d{1,2}[.)])\s+")

    def to_python(self, value):
        signs = (self.MARKER_RE.sub("", sign).rstrip(" .") for sign in super().to_python(value))
        unique = {}
        for sign in signs:
            if sign:
                unique.setdefault(sign.casefold(), sign)
        return list(unique.values())


class CodesField(LinesField):
    """ICD-10-CM codes, one per line or separated by commas or spaces (as copied from a chart)."""

    def to_python(self, value):
        text = forms.CharField.to_python(self, value) or ""
        # In their charted form (M81.0 for m810), so a draft holds what the article will; the model checks the code set.
        charted = (codes.dotted(codes.compact(code)) if codes.compact(code) else code for code in re.split(r"[\s,;]+", text) if code)
        return list(dict.fromkeys(charted))


class CodeFilter(admin.SimpleListFilter):
    """The articles carrying an ICD-10-CM code, or one under a category (``M17`` finds ``M17.11``)."""

    title = "ICD-10-CM code"
    parameter_name = "code"

    def lookups(self, request, model_admin):
        used = ArticleCode.objects.values_list("code", flat=True).distinct().order_by("code")
        return [("none", "No code"), *((code, codes.dotted(code)) for code in used)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(code_rows__isnull=True)
        compacted = codes.compact(value) if value else None
        if compacted:
            return queryset.filter(code_rows__code__startswith=compacted).distinct()
        return queryset


class SectionField(forms.CharField):
    """A section's Markdown, stored with LF line endings (browsers send CR LF), so an
    unchanged section is unchanged to the form and to History."""

    def to_python(self, value):
        return (super().to_python(value) or "").replace("\r\n", "\n").replace("\r", "\n")

    def has_changed(self, initial, data):
        return self.to_python(initial or "") != self.to_python(data)


EMERGENCY_SIGNS_HELP = (
    "Condition and symptom articles only. One short phrase per line, each finishing the sentence "
    "“Call {number} or go to the emergency room if you have: …” (for example: A hot, red, swollen joint with a fever). "
    "Shown in a box under the summary. Leave empty when no sign needs emergency care.")


class ArticleForm(forms.ModelForm):
    also_known_as = LinesField(required=False, help_text="One name per line: abbreviations, British spellings, lay terms.")
    codes = CodesField(
        required=False, label="ICD-10-CM codes",
        help_text="Condition and symptom articles only. The diagnosis codes a patient's chart may carry for this topic, one per line "
                  "or separated by commas: a code or a category (M81.0, M17, R52). A hospital portal sending M17.11 finds an article "
                  f"coded M17.1 or M17. Checked against the ICD-10-CM code set ({codes.release()}).")
    emergency_signs = EmergencySignsField(
        required=False, label="Emergency signs",
        help_text=EMERGENCY_SIGNS_HELP)
    # The version the editor opened, and what it said: a save against a newer version is refused.
    opened_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    opened_content = forms.CharField(required=False, widget=forms.HiddenInput)
    review_comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Comment for the editor",
        help_text="Needed when returning an article or its changes to draft: what should change.",
    )

    class Meta:
        model = Article
        fields = ["title", "slug", "kind", "schema_type", "summary", "also_known_as", "emergency_signs", "codes", "categories", "related",
                  "status", "reviewed_on", "reviewed_by"]

    def __init__(self, *args, user=None, sections_kind=None, action=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.action, self.conflict, self.transition = user, action, None, None
        self.draft = ArticleDraft.objects.filter(article=self.instance).first() if self.instance.pk else None
        if self.draft is not None:
            # A live article with pending changes: the form edits the changes.
            for name in workflow.CONTENT_FIELDS:
                if name in self.fields and name in self.draft.content:
                    self.initial[name] = self.draft.content[name]
            for name in ("categories", "related"):
                if name in self.fields:
                    self.initial[name] = self.draft.content.get(name, [])
        self.sections_kind = sections_kind or self.initial.get("kind") or self.instance.kind
        if "emergency_signs" in self.fields:
            self.fields["emergency_signs"].help_text = EMERGENCY_SIGNS_HELP.format(number=settings.HEALTHLIB_EMERGENCY_NUMBER)
        # What the editor opened (the pending changes of a live article, else the article): read once.
        self.opened = workflow.working_content(self.instance) if self.instance.pk else {}
        sections = self.opened.get("sections", {})
        # Which kind's sections the page showed travels with the form, so a kind changed in
        # the same submission is checked against the text the editor actually sent.
        self.fields["sections_kind"] = forms.ChoiceField(
            choices=Article.Kind.choices, initial=self.sections_kind, required=False, widget=forms.HiddenInput)
        measured = {}
        for name in section_fields(self.sections_kind):
            kind = SECTION_FIELDS[name]
            text = self.data.get(self.add_prefix(name), "") if self.is_bound else sections.get(kind.value, "")
            self.fields[name] = SectionField(
                label=kind.label, required=kind == SectionKind.OVERVIEW, initial=sections.get(kind.value, ""),
                widget=AdminMarkdownxWidget(attrs={"rows": 12}), strip=False,
                help_text=(REFERENCES_NOTE if kind == SectionKind.REFERENCES
                           else readability_note(readability.measure_markdown(text[:MAX_MEASURED_CHARS]))),
            )
            measured[kind.value] = text[:MAX_MEASURED_CHARS]
        # The whole article's grade, above the form (admin/conditions/article/change_form.html).
        self.readability_note = readability_note(readability.of_sections(measured)[1])
        if "schema_type" in self.fields:
            self.fields["schema_type"].help_text = "Optional, by kind: " + "; ".join(
                f"{info.label}: {', '.join(info.schema_types)}" for info in KINDS.values() if len(info.schema_types) > 1)
        if self.instance.pk:
            self.initial["opened_version"] = self.instance.version
            self.initial["opened_content"] = signing.dumps(self.opened, compress=True, salt=OPENED_SALT)
        if "status" in self.fields and user is not None and not can_publish(user):
            if self.instance.pk and self.instance.is_published:
                # Edits of a live article are kept as unpublished changes; it stays published.
                self.fields["status"].choices = [(Article.Status.PUBLISHED, Article.Status.PUBLISHED.label)]
                self.fields["status"].help_text = "A medical reviewer publishes your changes, or unpublishes the article."
            else:
                self.fields["status"].choices = [(value, label) for value, label in Article.Status.choices
                                                 if value != Article.Status.PUBLISHED]
                self.fields["status"].help_text = "A medical reviewer publishes articles in review."

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            self._check_version(cleaned)
        # Text as pasted (conditions.text): NFC, no soft hyphens or zero-width characters. A
        # name or summary made only of those is empty, and refused by name.
        for name, label in (("title", "title"), ("summary", "summary")):
            value = cleaned.get(name)
            if isinstance(value, str):
                cleaned[name] = clean_text(value).strip()
                if value and not cleaned[name]:
                    self.add_error(name, f"The {label} holds only invisible characters (such as zero-width spaces or soft "
                                         f"hyphens), so it is empty: type the {label} again.")
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
        if self.instance.pk and not self.errors and self.conflict is None:
            self._check_transition(cleaned)
        elif not self.instance.pk and cleaned.get("status") == Article.Status.PUBLISHED:
            self.add_error("status", "A new article is saved as a draft or submitted for review; a reviewer publishes it from there.")
        return cleaned

    def _check_version(self, cleaned):
        """Refuse a save against a newer version than the one opened (the row is locked until
        the save is done, so no one slips in between), saying who changed what, and when."""
        current = Article.objects.select_for_update().get(pk=self.instance.pk)
        opened = cleaned.get("opened_version")
        if opened == current.version:
            return
        try:
            before = signing.loads(cleaned.get("opened_content") or "", salt=OPENED_SALT)
        except signing.BadSignature:
            before = {}
        changes = history.compare(history.snapshot_of_content(before), history.snapshot_of_content(workflow.working_content(current)))
        who = (current.changed_by.get_full_name() or current.changed_by.get_username()) if current.changed_by else "someone"
        when = timezone.localtime(current.changed_at).strftime("%d %B %Y at %H:%M") if current.changed_at else "meanwhile"
        self.conflict = {"who": who, "when": when, "changes": [change for change in changes if change.changed]}
        self.add_error(None, f"{who} changed this article on {when}, after you opened it. Nothing was saved: your text is "
                             "still in the form below. Compare it with their changes, copy what you need into the form, "
                             "then reload the page to edit the current version.")

    def _check_transition(self, cleaned):
        """Where the save takes the article (``self.transition``), refused with a message when
        the user may not take it there or the text may not be published."""
        current = Article.objects.get(pk=self.instance.pk)
        content = self.content()
        publisher = self.user is not None and can_publish(self.user)
        if current.is_published:
            status = cleaned.get("status", current.status)
            if status != Article.Status.PUBLISHED:
                if not publisher:
                    self.add_error("status", "Only a medical reviewer can unpublish an article.")
                elif not (cleaned.get("review_comment") or "").strip():
                    self.add_error("review_comment", "Say why the article is withdrawn: the editors see this comment.")
                else:
                    self.transition = "unpublish"
                return
            self.transition = self.action or "_save_changes"
            draft_status = self.draft.status if self.draft is not None else None
            reviewed_on = cleaned.get("reviewed_on")
            if reviewed_on and reviewed_on > timezone.localdate():
                self.add_error("reviewed_on", "A review date cannot be in the future.")
                return
            if self.action in ("_publish_changes", "_return_changes") and not publisher:
                self.add_error(None, "Only a medical reviewer can publish or return changes in review.")
            elif self.action in ("_publish_changes", "_return_changes") and draft_status != ArticleDraft.Status.REVIEW:
                self.add_error(None, "Submit the changes for review first: only changes in review can be published or returned.")
            elif self.action == "_return_changes" and not (cleaned.get("review_comment") or "").strip():
                self.add_error("review_comment", "Say what needs changing: the editor sees this comment.")
            elif self.action == "_discard_changes" and self.draft is None:
                self.add_error(None, "This article has no unpublished changes to discard.")
            elif self.action == "_publish_changes":
                for problem in workflow.publish_problems(content, reviewed_on=cleaned.get("reviewed_on"), article=current):
                    self.add_error(None, f"Not published: {problem}")
            return
        status = cleaned.get("status", current.status)
        if status == Article.Status.PUBLISHED:
            if not publisher:
                self.add_error("status", "Only a medical reviewer can publish an article.")
            elif current.status != Article.Status.REVIEW:
                self.add_error("status", "Submit the article for review first: only an article in review can be published.")
            else:
                for problem in workflow.publish_problems(content, reviewed_on=cleaned.get("reviewed_on"), article=current):
                    self.add_error(None, f"Not published: {problem}")
                self.transition = "publish"
        elif status == Article.Status.DRAFT and current.status == Article.Status.REVIEW:
            if publisher and not (cleaned.get("review_comment") or "").strip() and current.submitted_by_id != self.user.pk:
                self.add_error("review_comment", "Say what needs changing: the editor sees this comment.")
            else:
                self.transition = "return"  # a reviewer's verdict, or an editor withdrawing it
        elif status == Article.Status.REVIEW and current.status == Article.Status.DRAFT:
            self.transition = "submit"
        else:
            self.transition = "save"

    def content(self):
        """The form's text as an ``ArticleDraft.content`` dict (see ``workflow``)."""
        cleaned = self.cleaned_data
        content = dict(self.opened)
        for name in workflow.CONTENT_FIELDS:
            if name in cleaned:
                content[name] = cleaned[name]
        for name in ("categories", "related"):
            if name in cleaned:
                content[name] = sorted(item.pk for item in cleaned[name])
        content["sections"] = self.section_texts()
        return content

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


class ReadingGradeFilter(admin.SimpleListFilter):
    title = "reading grade"
    parameter_name = "grade"

    def lookups(self, request, model_admin):
        return [("easy", f"Grade {readability.GRADE_TARGET:g} or below"), ("hard", f"Above grade {readability.GRADE_TARGET:g}"),
                ("none", "Not enough text")]

    def queryset(self, request, queryset):
        if self.value() == "easy":
            return queryset.filter(reading_grade__lte=readability.GRADE_TARGET)
        if self.value() == "hard":
            return queryset.filter(reading_grade__gt=readability.GRADE_TARGET)
        if self.value() == "none":
            return queryset.filter(reading_grade__isnull=True)
        return queryset


def readability_note(stats):
    """The line shown under a section (and for the whole article) about its ``Readability``."""
    if not stats.enough:
        return format_html('<span class="readability">Not enough text for a reading grade ({} words).</span>', stats.words)
    note = format_html('<span class="readability{}">Reading grade {} (Flesch–Kincaid), SMOG {} · {} words, {} sentences.</span>',
                       " readability-hard" if stats.too_hard else "", f"{stats.flesch_kincaid:.1f}", f"{stats.smog:.1f}",
                       stats.words, stats.sentences)
    if stats.too_hard:
        note += format_html(' <strong class="readability-hard">Above grade {}: use shorter sentences and everyday words.</strong>',
                            f"{readability.GRADE_TARGET:g}")
    return note


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    search_fields = ["name"]
    list_display = ["name", "slug"]
    readonly_fields = ["slug"]


@admin.register(ArticleRedirect)
class ArticleRedirectAdmin(admin.ModelAdmin):
    """Old addresses of renamed articles (made by renames, never typed in); deleting one
    makes that address a 404 again."""

    list_display = ["old_slug", "article", "created_at"]
    search_fields = ["old_slug", "article__title", "article__slug"]
    readonly_fields = ["old_slug", "article", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ArticleImage)
class ArticleImageAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "original_name", "width", "height", "uploaded_by", "uploaded_at"]
    readonly_fields = ["thumbnail", "markdown", "used_in", "format", "width", "height", "renditions", "original_name", "uploaded_by",
                       "uploaded_at"]
    fields = readonly_fields
    actions = None  # no bulk delete: images are deleted one at a time, each checked for use (delete_view)

    @admin.display(description="Used in")
    def used_in(self, image):
        articles = image.used_by()
        if not articles:
            return "No article uses this image."
        return format_html_join(", ", '<a href="{}">{}</a>', ((reverse("admin:conditions_article_change", args=[a.pk]), a.title)
                                                               for a in articles))


    def delete_view(self, request, object_id, extra_context=None):
        image = self.get_object(request, unquote(object_id))
        if image is not None:
            articles = image.used_by()
            if articles:
                names = ", ".join(f"“{article}”" for article in articles)
                self.message_user(request, f"This image is in use, so it was not deleted: {names} show it. Remove it from "
                                           "their text first (History keeps the change), then delete it.", messages.ERROR)
                return redirect("admin:conditions_articleimage_change", image.pk)
        return super().delete_view(request, object_id, extra_context)

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
    list_display = ["title", "kind", "state", "grade", "reviewed_on", "next_review", "updated_at", "version_input"]
    list_filter = ["kind", "status", ReviewOverdueFilter, ReadingGradeFilter, CodeFilter, "categories"]
    search_fields = ["title", "slug", "summary"]
    autocomplete_fields = ["categories", "related"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["submit_for_review", "publish", "return_to_draft"]
    change_list_template = "admin/conditions/article/change_list.html"
    change_form_template = "admin/conditions/article/change_form.html"
    delete_confirmation_template = "admin/conditions/article/delete_confirmation.html"

    object_history_template = "admin/conditions/article/object_history.html"

    class Media:
        js = ["admin/js/markdownx-upload-errors.js", "admin/js/editor-aids.js"]
        css = {"all": ["admin/css/editor-aids.css"]}

    @admin.display(description="Reading grade", ordering="reading_grade")
    def grade(self, article):
        if article.reading_grade is None:
            return "–"
        if article.reading_grade > readability.GRADE_TARGET:
            return format_html('<strong class="readability-hard">{}</strong>', f"{article.reading_grade:.1f}")
        return f"{article.reading_grade:.1f}"

    def get_fieldsets(self, request, obj=None):
        # Someone who may only view (an editor, on a published article) sees the sections rendered.
        editable = obj is None or self.has_change_permission(request, obj)
        kind = sections_kind(request, obj)
        return [
            (None, {"fields": ["title", "slug", "kind", "schema_type", "summary", "also_known_as", "emergency_signs", "codes"]}),
            (f"Sections of a {Article.Kind(kind).label.lower()} article (in page order)",
             {"fields": ["sections_kind", *section_fields(kind)], "description": render_to_string("admin/conditions/article/writing_guide.html")}
             if editable else {"fields": ["rendered_sections"]}),
            ("Related articles and categories", {"fields": ["related", "categories"]}),
            ("Review and publishing", {"fields": ["status", "review_comment", "reviewed_on", "reviewed_by", "next_review", "opened_version",
                                                  "opened_content"]}),
        ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The model's fields; the form adds one field per section itself.
        kwargs["fields"] = [name for name in flatten_fieldsets(self.get_fieldsets(request, obj))
                            if name not in SECTION_FIELDS and name not in FORM_ONLY_FIELDS and name != "next_review"]
        form = super().get_form(request, obj, change=change, **kwargs)
        user, kind = request.user, sections_kind(request, obj)
        action = next((name for name in DRAFT_ACTIONS if name in request.POST), None) if request.method == "POST" else None

        class FormForUser(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=user, sections_kind=kind, action=action, **kw)

        return FormForUser

    def get_readonly_fields(self, request, obj=None):
        return ["next_review"] if can_publish(request.user) else ["reviewed_on", "reviewed_by", "next_review"]

    # An editor may edit a published article: the change is kept as its pending draft
    # (``workflow``) until a reviewer publishes it, so live text still never changes without one.

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

    @admin.display(description="Status", ordering="status")
    def state(self, article):
        try:
            draft = article.pending_draft
        except ArticleDraft.DoesNotExist:
            draft = None
        return workflow.state_label(article, draft)

    @admin.display(description="")
    def version_input(self, article):
        # Posted with a list action: an article changed since the list was shown is left alone.
        return format_html('<input type="hidden" name="_version_{}" value="{}">', article.pk, article.version)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pending_draft")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        article = self.get_object(request, unquote(object_id))
        extra = {}
        if article is not None:
            draft = ArticleDraft.objects.filter(article=article).select_related("updated_by", "submitted_by").first()
            extra = {
                "state_label": workflow.state_label(article, draft),
                "pending_draft": draft,
                "draft_changes": [c for c in history.compare(history.snapshot_of_article(article), history.snapshot_of_content(draft.content))
                                  if c.changed] if draft else [],
                "can_publish": can_publish(request.user),
                "review_comment": (draft.review_comment if draft else article.review_comment),
                "linked_from": self._linked_from(article),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @staticmethod
    def _linked_from(article):
        """The other articles whose text links to ``article`` (by ``[[slug]]``), by title."""
        return list(Article.objects.linking_to_any([article.slug]).exclude(pk=article.pk).order_by("title").only("pk", "title"))

    def delete_view(self, request, object_id, extra_context=None):
        article = self.get_object(request, unquote(object_id))
        extra = {"linked_from": self._linked_from(article)} if article is not None else {}
        return super().delete_view(request, object_id, {**extra, **(extra_context or {})})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context.get("adminform").form if context.get("adminform") else None
        context["conflict"] = getattr(form, "conflict", None)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        form.skip_related = False
        if not change:
            check_change(request.user, None, obj.status)
            obj.changed_by, obj.changed_at = request.user, timezone.now()
            if obj.status == Article.Status.REVIEW:
                obj.submitted_by, obj.submitted_at = request.user, timezone.now()
            super().save_model(request, obj, form, change)
            return
        current = Article.objects.select_for_update().get(pk=obj.pk)
        transition = form.transition
        if current.is_published and transition != "unpublish":
            self._save_live_changes(request, form, current, transition)
            form.skip_related = True
            return
        if not can_publish(request.user):
            obj.reviewed_on, obj.reviewed_by = current.reviewed_on, current.reviewed_by
        changed = [name for name in form.changed_data if name not in FORM_ONLY_FIELDS]
        if transition == "save" and not changed:
            form.skip_related = form.unchanged = True  # nothing to record, no date to move
            return
        if not obj.claim_version(current.version, request.user):
            raise PermissionDenied("Someone saved this article a moment ago; reload it and try again. Nothing was saved.")
        now = timezone.now()
        if transition == "submit":
            obj.submitted_by, obj.submitted_at, obj.review_comment = request.user, now, ""
        elif transition in ("return", "unpublish"):
            obj.review_comment = form.cleaned_data.get("review_comment", "").strip()
        elif transition == "publish":
            obj.approved_by, obj.approved_at, obj.review_comment = request.user, now, ""
        if transition in ("publish", "unpublish"):
            obj.updated_at = now  # the public pages change: feeds, the sitemap and the API follow
        super().save_model(request, obj, form, change)
        if transition == "unpublish":
            # The form showed the pending changes, and saves them as the article's text now.
            ArticleDraft.objects.filter(article=obj).delete()

    def _save_live_changes(self, request, form, article, action):
        """An edit of a published article: kept as its pending draft, then the button's step."""
        user, comment = request.user, (form.cleaned_data.get("review_comment") or "").strip()
        content, draft = form.content(), form.draft
        review = (form.cleaned_data.get("reviewed_on"), form.cleaned_data.get("reviewed_by") or "")
        if can_publish(user) and "reviewed_on" in form.cleaned_data and review != (article.reviewed_on, article.reviewed_by):
            # Recording a medical review is a reviewer's act on the live article itself.
            article.reviewed_on, article.reviewed_by = review
            article.save(update_fields=["reviewed_on", "reviewed_by"])
            form.review_recorded = True
        if action == "_discard_changes":
            workflow.discard_draft(article, user)
        else:
            baseline = draft.content if draft is not None else workflow.content_of_article(article)
            if content != baseline:
                workflow.save_draft(article, content, user)
            elif action in (None, "_save_changes"):
                if getattr(form, "review_recorded", False):
                    article.claim_version(article.version, user)
                    form.live_step = "_record_review"
                    return
                form.unchanged = True
                return
            if action == "_submit_changes":
                workflow.submit_draft(article, user)
            elif action == "_publish_changes":
                workflow.publish_draft(article, user)
            elif action == "_return_changes":
                workflow.return_draft(article, user, comment)
        article.claim_version(article.version, user)
        form.live_step = action or "_save_changes"

    def save_related(self, request, form, formsets, change):
        if getattr(form, "skip_related", False):
            return
        super().save_related(request, form, formsets, change)
        form.instance.set_sections(form.section_texts())

    def log_change(self, request, obj, message):
        form = getattr(request, "_article_form", None)
        if form is not None and getattr(form, "unchanged", False):
            return None  # a save that changed nothing records nothing
        return super().log_change(request, obj, message)

    def construct_change_message(self, request, form, formsets, add=False):
        request._article_form = form
        step = getattr(form, "live_step", None)
        if step:  # a plain sentence: as a list of "fields" it would read "Changed Published the changes."
            return f"{LIVE_STEP_MESSAGES[step]}."
        return super().construct_change_message(request, form, formsets, add)

    def response_change(self, request, obj):
        form = getattr(request, "_article_form", None)
        if form is not None and getattr(form, "unchanged", False):
            self.message_user(request, f"Nothing changed in “{obj}”, so nothing was saved.", messages.INFO)
            return redirect(request.path)
        step = getattr(form, "live_step", None) if form is not None else None
        if step:
            self.message_user(request, LIVE_STEP_DONE[step].format(article=obj), messages.SUCCESS)
            return redirect(request.path if step != "_publish_changes" else "admin:conditions_article_changelist")
        return super().response_change(request, obj)

    # -- workflow actions -----------------------------------------------------------

    def _apply(self, request, queryset, step, verb, comment=""):
        """Take ``step(article)`` for each selected article (``False``: the step does not apply
        to it), each in its own revision, and say honestly what happened to how many."""
        seen = {key.removeprefix("_version_"): value for key, value in request.POST.items() if key.startswith("_version_")}
        done, refused, stale, skipped, blocked = 0, 0, 0, 0, []
        with transaction.atomic():
            # Locked by primary key: the list's own queryset may carry DISTINCT (m2m filters),
            # which PostgreSQL refuses with FOR UPDATE.
            articles = list(Article.objects.select_for_update().filter(pk__in=queryset.values("pk")))
            for article in articles:
                if str(article.pk) in seen and seen[str(article.pk)] != str(article.version):
                    stale += 1  # changed since the list was shown: the person decided on something else
                    continue
                try:
                    with transaction.atomic(), reversion.create_revision():
                        if step(article) is False:
                            skipped += 1
                            continue
                        article.claim_version(article.version, request.user)
                        reversion.set_user(request.user)
                        reversion.set_comment(verb + (f": {comment}" if comment else ""))
                    done += 1
                except PermissionDenied:
                    refused += 1
                except workflow.WorkflowError as error:
                    blocked.append(f"“{article}”: {error}")
        parts = [f"{verb}: {done} article(s)."]
        if refused:
            parts.append(f"{refused} refused: only a medical reviewer can publish, unpublish or return an article to draft.")
        if stale:
            parts.append(f"{stale} changed by someone else since the list was shown, so left alone: reload the list and try again.")
        if skipped:
            parts.append(f"{skipped} left as they were (not in a state this action applies to).")
        self.message_user(request, " ".join(parts), messages.SUCCESS if done and not (refused or stale or blocked) else messages.WARNING)
        for problem in blocked:
            self.message_user(request, problem, messages.ERROR)

    @staticmethod
    def _draft_of(article):
        return ArticleDraft.objects.select_for_update().filter(article=article).first()

    @admin.action(description="Submit selected articles (or their unpublished changes) for review", permissions=["change"])
    def submit_for_review(self, request, queryset):
        def step(article):
            draft = self._draft_of(article)
            if article.status == Article.Status.DRAFT:
                return workflow.submit(article, request.user)
            if article.is_published and draft is not None and draft.status == ArticleDraft.Status.DRAFT:
                return workflow.submit_draft(article, request.user)
            return False

        self._apply(request, queryset, step, "Submitted for review")

    @admin.action(description="Approve and publish selected articles (or their changes in review)", permissions=["publish"])
    def publish(self, request, queryset):
        def step(article):
            draft = self._draft_of(article)
            if article.status in (Article.Status.REVIEW, Article.Status.DRAFT):
                return workflow.publish(article, request.user)  # a draft is refused: submit it first
            if draft is not None and draft.status == ArticleDraft.Status.REVIEW:
                return workflow.publish_draft(article, request.user)
            return False

        self._apply(request, queryset, step, "Published")

    @admin.action(description="Return selected articles to draft (unpublish), with a comment", permissions=["change"])
    def return_to_draft(self, request, queryset):
        comment = (request.POST.get("comment") or "").strip()
        if "apply" not in request.POST or not comment:
            # A comment is asked for first: the editor sees it on the article's form.
            return TemplateResponse(request, "admin/conditions/article/return_to_draft.html", {
                **self.admin_site.each_context(request), "opts": self.model._meta, "title": "Return to draft",
                "articles": queryset, "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "missing_comment": "apply" in request.POST,
            })

        def step(article):
            draft = self._draft_of(article)
            if article.is_published and draft is not None and draft.status == ArticleDraft.Status.REVIEW:
                return workflow.return_draft(article, request.user, comment)
            if article.status == Article.Status.DRAFT:
                return False
            return workflow.return_to_draft(article, request.user, comment)

        self._apply(request, queryset, step, "Returned to draft", comment)

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
            path("readability/", view(self.readability_view), name="conditions_article_readability"),
            path("waiting/", view(self.waiting_view), name="conditions_article_waiting"),
            path("<path:object_id>/preview-changes/", view(self.preview_changes_view), name="conditions_article_preview_changes"),
            path("<path:object_id>/history/<int:version_id>/compare/", view(self.compare_view), name="conditions_article_compare"),
            path("<path:object_id>/history/<int:version_id>/restore/", view(self.restore_view), name="conditions_article_restore"),
        ] + inherited

    def readability_view(self, request):
        """POST the form's section fields (``section_<kind>``): JSON ``{"sections": {field name:
        stats}, "article": stats}`` (``Readability.as_dict``), for the aids beside the editor."""
        if request.method != "POST":
            return JsonResponse({"error": "POST the section fields."}, status=405)
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        texts = {name: request.POST.get(name, "")[:MAX_MEASURED_CHARS] for name, kind in SECTION_FIELDS.items()
                 if name in request.POST and kind != SectionKind.REFERENCES}  # citations are not graded
        per_section, whole = readability.of_sections({SECTION_FIELDS[name].value: text for name, text in texts.items()})
        return JsonResponse({
            "sections": {name: {**per_section[SECTION_FIELDS[name].value].as_dict(),
                                "note": str(readability_note(per_section[SECTION_FIELDS[name].value]))} for name in texts},
            "article": {**whole.as_dict(), "note": str(readability_note(whole))},
        })

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
            "other_address": version.field_dict.get("slug") not in (None, article.slug) and version.field_dict.get("slug"),
        }
        return TemplateResponse(request, "admin/conditions/article/compare.html", context)

    def restore_view(self, request, object_id, version_id):
        """Bring a version's text back: into a published article's unpublished changes (a
        reviewer then publishes them, like any edit of live text), straight into an article
        that is not published. Refused when the article changed after the comparison was shown."""
        if request.method != "POST":
            return redirect("admin:conditions_article_compare", object_id, version_id)
        article, version = self._version(request, object_id, version_id)
        saved_on = timezone.localtime(version.revision.date_created)
        # The address stays unless asked for: the old one then redirects here (models.ArticleRedirect).
        keep_slug = not request.POST.get("restore_address")
        with transaction.atomic(), reversion.create_revision():
            article = Article.objects.select_for_update().get(pk=article.pk)
            seen = request.POST.get("version")
            if seen != str(article.version):
                who = article.changed_by or "someone"
                self.message_user(request, f"“{article}” was changed by {who} after you opened the comparison, so nothing was "
                                           "restored: compare again with the current version.", messages.ERROR)
                return redirect("admin:conditions_article_compare", article.pk, version.pk)
            if article.is_published:
                if not self.has_change_permission(request, article):
                    raise PermissionDenied
                content, notes = history.content_of_version(article, version, keep_slug=keep_slug)
                workflow.save_draft(article, content, request.user)
                # New text nobody submitted: back to draft, whatever stage the changes had reached.
                ArticleDraft.objects.filter(article=article).update(status=ArticleDraft.Status.DRAFT, submitted_by=None, submitted_at=None)
                done = (f"The version of {saved_on:%d %B %Y %H:%M} is now the unpublished changes of “{article}”: submit them "
                        "for review; the published version stays live until a reviewer publishes them.")
            else:
                check_change(request.user, article, article.status)
                # Only this article and its own sections: a revision may hold other articles.
                notes = history.apply_version(article, version, keep_slug=keep_slug)
                done = f"Restored “{article}” to the version of {saved_on:%d %B %Y %H:%M}; that is now the newest version."
            article.claim_version(article.version, request.user)
            reversion.set_user(request.user)
            reversion.set_comment(f"Restored the version of {saved_on:%d %B %Y %H:%M}")
        self.message_user(request, done)
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

    def preview_changes_view(self, request, object_id):
        """The article page as it will be once its unpublished changes are published (staff only)."""
        article = self._article_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        draft = ArticleDraft.objects.filter(article=article).first()
        if draft is None:
            return redirect(article)
        article = Article.objects.with_page_data().get(pk=article.pk)
        for name in workflow.CONTENT_FIELDS:
            if name != "slug":
                setattr(article, name, draft.content.get(name, getattr(article, name)))
        crumbs = kind_trail(article.kind_info, (article.title, article.get_absolute_url()))
        response = TemplateResponse(request, "conditions/article_detail.html", {
            "article": article, "sections": render_unsaved_sections(draft.sections, article), "preview": True,
            "previewing_changes": True, "breadcrumbs": crumbs,
        })
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
        return response

    def waiting_view(self, request):
        """What is waiting for review: articles in review and changes in review, oldest first."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        waiting = [
            {"article": article, "what": "New or unpublished article", "by": article.submitted_by, "at": article.submitted_at}
            for article in Article.objects.filter(status=Article.Status.REVIEW).select_related("submitted_by")
        ] + [
            {"article": draft.article, "what": "Changes to the published article", "by": draft.submitted_by, "at": draft.submitted_at}
            for draft in ArticleDraft.objects.filter(status=ArticleDraft.Status.REVIEW).select_related("article", "submitted_by")
        ]
        waiting.sort(key=lambda item: (item["at"] is None, item["at"] or timezone.now(), item["article"].title))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Waiting for review", "waiting": waiting}
        return TemplateResponse(request, "admin/conditions/article/waiting.html", context)

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

