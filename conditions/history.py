"""An article's saved versions (django-reversion) compared with each other, section by section.

django-reversion was chosen over django-simple-history because it stores an article and
its sections together as one revision (``follow=["sections"]``): restoring a version
brings back exactly the sections it had, and a deleted article can be recovered whole.
simple-history keeps one history table per model, which leaves re-assembling an article
from its sections' separate histories to us.
"""

import difflib
import json
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import mark_safe
from reversion.models import Version

from .kinds import sections_of
from .models import Article, ArticleSection, Category, SectionKind

COMPARED_FIELDS = [("title", "Title"), ("slug", "Address (slug)"), ("kind", "Kind"), ("summary", "Summary"),
                   ("also_known_as", "Also known as"), ("codes", "ICD-10-CM codes"), ("emergency_signs", "Emergency signs"), ("status", "Status"),
                   ("reviewed_on", "Last reviewed"), ("reviewed_by", "Reviewed by"), ("categories", "Categories"),
                   ("related", "Related articles")]
# What a restore or a recovery brings back from a version; the workflow fields (status,
# review, publication) are never taken from a version: publishing is a separate,
# permissioned step (conditions.permissions).
RESTORED_FIELDS = ["title", "slug", "kind", "schema_type", "summary", "also_known_as", "codes", "emergency_signs"]


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
    stored = stored_field_names(version)  # a field added since reads as its default: leave it out, not "removed"
    data = {name: value for name, value in version.field_dict.items() if name in stored}
    return _snapshot(data, data.get("categories", []), data.get("related", []), sections_of_version(version))


def snapshot_of_article(article):
    data = {name: getattr(article, name) for name, _ in COMPARED_FIELDS if name not in ("categories", "related")}
    sections = {section.kind: section.markdown for section in article.sections.all()}
    return _snapshot(data, article.categories.values_list("pk", flat=True), article.related.values_list("pk", flat=True), sections)


def snapshot_of_content(content):
    """``{label: text}`` of an ``ArticleDraft.content`` dict (``workflow``); ``{}`` for an empty one."""
    if not content:
        return {}
    return _snapshot(content, content.get("categories", []), content.get("related", []), content.get("sections", {}))


def _snapshot(data, category_ids, related_ids, sections):
    names = {
        "categories": ", ".join(sorted(Category.objects.filter(pk__in=list(category_ids)).values_list("name", flat=True))),
        "related": ", ".join(sorted(Article.objects.filter(pk__in=list(related_ids)).values_list("title", flat=True))),
    }
    out = {}
    for name, label in COMPARED_FIELDS:
        if name not in names and name not in data:
            continue  # not part of what was saved (pending changes hold no status or review)
        value = names.get(name, data.get(name))
        if name in ("also_known_as", "codes"):
            value = ", ".join(value or [])
        elif name == "emergency_signs":
            value = "\n".join(value or [])
        elif name == "status":
            value = str(Article.Status(value).label) if value in Article.Status.values else (value or "")
        elif name == "kind":
            value = str(Article.Kind(value).label) if value in Article.Kind.values else (value or "")
        out[label] = "" if value is None else str(value)
    kind_sections = sections_of(data.get("kind")) if data.get("kind") in Article.Kind.values else ()
    for kind in SectionKind:
        if kind.value in sections or kind.value in kind_sections:
            out[str(kind.label)] = sections.get(kind.value, "")
    return out


def compare(old, new):
    """The ``Change`` of every field and section, in page order."""
    return [Change(label, old.get(label, ""), new.get(label, "")) for label in new]


def apply_version(article, version, keep_slug=False):
    """Bring ``version``'s text back into ``article`` and save it: names, summary, kind,
    categories and related articles that still exist, and the article's own sections.

    ``article`` keeps its workflow fields as the caller set them. A slug that now belongs
    to another article is not taken: an existing article keeps its current slug, a
    recovered one gets the first free ``<slug>-<n>``. Returns a list of notes for the
    editor (empty when everything came back as it was; see ``content_of_version``).
    """
    content, notes = content_of_version(article, version, keep_slug)
    for name in RESTORED_FIELDS:
        if name in content:
            setattr(article, name, content[name])
    if article.kind not in Article.Kind.values:
        article.kind = Article.Kind.CONDITION
    article.save()
    article.categories.set(content["categories"])
    article.related.set(content["related"])
    article.set_sections(content["sections"])
    return notes


def stored_field_names(version):
    """The names of the fields ``version`` actually saved (``field_dict`` fills in the
    model's defaults for fields added since); every field for a format other than JSON."""
    if version.format != "json":
        return {field.name for field in Article._meta.get_fields()}
    fields = json.loads(version.serialized_data)[0]["fields"]
    return {"id", *fields}


def content_of_version(article, version, keep_slug=False):
    """``(content, notes)``: ``version``'s text as an ``ArticleDraft.content`` dict for
    ``article`` (see ``workflow``), and notes for the editor on what could not come back.

    The version's slug is kept unless it now belongs to another article: then an existing
    article keeps its current slug and a recovered one (``article.slug`` empty) gets the
    first free ``<slug>-<n>``. Related articles and categories deleted since are left out,
    each named in a note.
    """
    data, notes = version.field_dict, []
    # A field added after the version was saved (emergency signs, in versions from before
    # migration 0014) comes back as the model's default: keep the article's own value instead.
    stored = stored_field_names(version)
    content = {name: data[name] if name in stored else getattr(article, name) for name in RESTORED_FIELDS if name in data}
    if keep_slug:
        content["slug"] = article.slug
    wanted = content.get("slug", article.slug)
    taken = Article.objects.exclude(pk=article.pk).filter(slug=wanted).first()
    if taken is not None:
        content["slug"] = article.slug or _free_slug(wanted)
        notes.append(f"The address “{wanted}” now belongs to “{taken}”, so this article keeps the address “{content['slug']}”.")
    wanted_related = set(data.get("related", [])) - {article.pk}
    content["related"] = sorted(Article.objects.filter(pk__in=wanted_related).values_list("pk", flat=True))
    gone = wanted_related - set(content["related"])
    if gone:
        notes.append(f"Related article{'s' if len(gone) > 1 else ''} deleted since that version, left out: {_deleted_titles(Article, gone)}.")
    wanted_categories = set(data.get("categories", []))
    content["categories"] = sorted(Category.objects.filter(pk__in=wanted_categories).values_list("pk", flat=True))
    gone = wanted_categories - set(content["categories"])
    if gone:
        notes.append(f"Categor{'ies' if len(gone) > 1 else 'y'} deleted since that version, left out: {_deleted_titles(Category, gone)}.")
    content["sections"] = sections_of_version(version)
    return content, notes


def _deleted_titles(model, pks):
    """“Title”, “Title” of deleted objects, from their last saved version (their number when none)."""
    from django.contrib.contenttypes.models import ContentType

    versions = Version.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id__in=[str(pk) for pk in pks])
    # The newest last, so it wins.
    titles = {int(object_id): title for object_id, title in versions.order_by("pk").values_list("object_id", "object_repr")}
    return ", ".join(f"“{titles.get(pk, f'#{pk}')}”" for pk in sorted(pks))


def _free_slug(slug):
    n = 2
    while Article.objects.filter(slug=f"{slug}-{n}").exists():
        n += 1
    return f"{slug}-{n}"


def deleted_article_version(version_id):
    """The ``Version`` ``version_id`` when it is a version of an article that no longer exists, else ``None``."""
    from django.contrib.contenttypes.models import ContentType

    version = Version.objects.filter(pk=version_id, content_type=ContentType.objects.get_for_model(Article)).first()
    if version is None or not str(version.object_id).isdigit() or Article.objects.filter(pk=int(version.object_id)).exists():
        return None
    return version


def versions_of(article):
    return Version.objects.get_for_object(article).select_related("revision", "revision__user")
