"""An article's saved versions (django-reversion) compared with each other, section by section.

django-reversion was chosen over django-simple-history because it stores an article and
its sections together as one revision (``follow=["sections"]``): restoring a version
brings back exactly the sections it had, and a deleted article can be recovered whole.
simple-history keeps one history table per model, which leaves re-assembling an article
from its sections' separate histories to us.
"""

import difflib
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe
from reversion.models import Version

from .models import Article, ArticleSection, Category, SectionKind

COMPARED_FIELDS = [("title", "Title"), ("summary", "Summary"), ("also_known_as", "Also known as"), ("status", "Status"),
                   ("reviewed_on", "Last reviewed"), ("reviewed_by", "Reviewed by"), ("categories", "Categories"),
                   ("related", "Related articles")]
# What a restore brings back; the workflow fields stay as they are now (publishing is a separate, permissioned step).
WORKFLOW_FIELDS = ["status", "reviewed_on", "reviewed_by", "published_at"]


@dataclass
class Change:
    label: str
    old: str
    new: str

    @property
    def changed(self):
        return self.old != self.new

    @property
    def diff(self):
        return word_diff(self.old, self.new)


def word_diff(old, new):
    """HTML of ``new`` against ``old``, word by word, with <del> and <ins> (all text escaped)."""
    a, b = old.split(" "), new.split(" ")
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape(" ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(' '.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(' '.join(b[j1:j2]))}</ins>")
    return mark_safe(" ".join(out).replace("\n", "<br>"))


def sections_of_version(version):
    """``{kind: markdown}`` of the article's own sections in the revision of ``version``.

    A revision can hold several articles (a list action saves them together); only the
    sections that belong to this version's article count.
    """
    article_id = int(version.object_id)
    return {
        v.field_dict["kind"]: v.field_dict["markdown"]
        for v in version.revision.version_set.all()
        if v.content_type.model_class() is ArticleSection and v.field_dict.get("article_id") == article_id
    }


def snapshot_of_version(version):
    """``{label: text}`` of an article as a version saved it."""
    data = version.field_dict
    return _snapshot(data, data.get("categories", []), data.get("related", []), sections_of_version(version))


def snapshot_of_article(article):
    data = {name: getattr(article, name) for name, _ in COMPARED_FIELDS if name not in ("categories", "related")}
    sections = {section.kind: section.markdown for section in article.sections.all()}
    return _snapshot(data, article.categories.values_list("pk", flat=True), article.related.values_list("pk", flat=True), sections)


def _snapshot(data, category_ids, related_ids, sections):
    names = {
        "categories": ", ".join(sorted(Category.objects.filter(pk__in=list(category_ids)).values_list("name", flat=True))),
        "related": ", ".join(sorted(Article.objects.filter(pk__in=list(related_ids)).values_list("title", flat=True))),
    }
    out = {}
    for name, label in COMPARED_FIELDS:
        value = names.get(name, data.get(name))
        if name == "also_known_as":
            value = ", ".join(value or [])
        elif name == "status":
            value = str(Article.Status(value).label) if value in Article.Status.values else (value or "")
        out[label] = "" if value is None else str(value)
    for kind in SectionKind:
        out[str(kind.label)] = sections.get(kind.value, "")
    return out


def compare(old, new):
    """The ``Change`` of every field and section, in page order."""
    return [Change(label, old.get(label, ""), new.get(label, "")) for label in new]


def versions_of(article):
    return Version.objects.get_for_object(article).select_related("revision", "revision__user")
