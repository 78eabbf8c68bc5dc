"""The article source format (``shared/content-format.md``): parse and write.

A source file is YAML front matter between ``---`` lines followed by Markdown whose
level-2 headings are the fixed sections. ``parse()`` turns bytes into an
``ArticleSource`` or raises ``ContentError`` naming the file, the line and what to fix;
``dump()`` writes an ``ArticleSource`` back so that export → import → export is
byte-identical. PyYAML reads the front matter; its node marks give line numbers, and
its date resolver is switched off so an impossible date gets our message, not a
traceback.
"""

import datetime
import difflib
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .codes import validate_all
from .kinds import KINDS, SectionKind, sections_of
from .markdown import ANY_WIKILINK_RE, WIKILINK_RE
from .models import Article
from .text import clean
from .validators import SLUG_RE, codes_problem, emergency_signs_problem

REQUIRED_KEYS = ("title", "slug", "summary")
KEYS = ("title", "slug", "kind", "schema_type", "summary", "also_known_as", "categories", "related", "reviewed_on", "reviewed_by", "status",
        "emergency", "codes", "redirect_from")
SECTION_BY_HEADING = {label.casefold(): kind for kind, label in SectionKind.choices}
FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING_RE = re.compile(r"^(#{1,2})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")


class ContentError(Exception):
    """A source file that breaks the format. ``str()`` is the one line shown to the editor."""

    def __init__(self, path, message, line=None):
        super().__init__(message)
        self.path, self.message, self.line = path, message, line

    def __str__(self):
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.message}"


@dataclass
class ArticleSource:
    title: str
    slug: str
    summary: str
    kind: str = Article.Kind.CONDITION
    schema_type: str = ""
    also_known_as: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    related: list = field(default_factory=list)
    reviewed_on: datetime.date | None = None
    reviewed_by: str = ""
    status: str = Article.Status.DRAFT
    emergency: list = field(default_factory=list)  # Article.emergency_signs, in the editor's order
    codes: list = field(default_factory=list)  # ICD-10-CM, dotted (conditions.codes)
    redirect_from: list = field(default_factory=list)  # the article's former slugs (models.ArticleRedirect)
    sections: dict = field(default_factory=dict)
    # Where things are in the file, for error messages only.
    path: Path | None = field(default=None, compare=False)
    lines: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        # Order carries no meaning for these two; sorting makes comparison and export stable.
        self.categories = sorted(self.categories)
        self.related = sorted(self.related)
        self.redirect_from = sorted(self.redirect_from)

    @classmethod
    def from_article(cls, article):
        """The source an article would be written as (``export_content``)."""
        return cls(
            title=article.title,
            slug=article.slug,
            kind=article.kind,
            schema_type=article.schema_type,
            summary=article.summary,
            also_known_as=list(article.also_known_as),
            categories=[category.name for category in article.categories.all()],
            related=[related.slug for related in article.related.all()],
            reviewed_on=article.reviewed_on,
            reviewed_by=article.reviewed_by,
            status=article.status,
            emergency=list(article.emergency_signs) if article.kind_info.is_problem else [],
            codes=list(article.codes) if article.kind_info.is_problem else [],
            redirect_from=[redirect.old_slug for redirect in article.redirects.all()],
            sections={section.kind: section.markdown for section in article.sections.all()},
        )

    def link_targets(self):
        """``{slug: line}`` for every ``[[slug]]`` and ``related`` entry."""
        targets = {slug: self.lines.get("related") for slug in self.related}
        targets.update(self.lines.get("links", {}))
        return targets


class _FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The safe loader without the timestamp resolver: dates arrive as text and are checked
    here. libyaml's (``CSafeLoader``, in PyYAML's wheels) where present: the same nodes and
    marks, several times faster than the pure-Python one."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(path, raw=None):
    """Parse one source file; raise ``ContentError`` if it breaks the format."""
    path = Path(path)
    raw = path.read_bytes() if raw is None else raw
    if not raw.strip():
        raise ContentError(path, "the file is empty; it needs front matter and at least one section")
    try:
        text = clean(raw.decode("utf-8-sig"))  # NFC, no soft hyphens or zero-width characters (conditions.text)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ContentError(path, f"not valid UTF-8 (byte 0x{raw[error.start]:02x}); save the file as UTF-8", line) from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    if lines[0].strip() != "---":
        raise ContentError(path, "the file must start with a '---' line opening the front matter", 1)
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.rstrip() == "---")
    except StopIteration:
        raise ContentError(path, "the front matter is never closed: add a '---' line after it", 1) from None

    meta, key_lines = _parse_front_matter(path, "\n".join(lines[1:end]))
    fields = _check_front_matter(path, meta, key_lines)
    sections, heading_lines, link_lines = _parse_body(path, lines, end + 1, fields["kind"])
    source = ArticleSource(
        **fields,
        sections=sections,
        path=path,
        lines={**key_lines, "links": link_lines, "sections": heading_lines},
    )
    if source.slug != path.stem:
        raise ContentError(
            path, f"slug '{source.slug}' must equal the file name; rename the file to {source.slug}.md or fix the slug", key_lines["slug"])
    if source.slug in source.related:
        raise ContentError(path, "an article cannot be related to itself; remove its own slug from 'related'", key_lines["related"])
    return source


def _parse_front_matter(path, text):
    loader = _FrontMatterLoader(text)
    try:
        root = loader.get_single_node()
        if root is None or not isinstance(root, yaml.MappingNode):
            raise ContentError(path, "the front matter must be 'key: value' lines (title, slug, summary, …)", 2)
        meta, key_lines = {}, {}
        for key_node, value_node in root.value:
            key, line = key_node.value, key_node.start_mark.line + 2
            if key not in KEYS:
                close = difflib.get_close_matches(key, KEYS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed keys: {', '.join(KEYS)}"
                raise ContentError(path, f"unknown front matter key '{key}'{hint}", line)
            if key in meta:
                raise ContentError(path, f"front matter key '{key}' is repeated (first on line {key_lines[key]})", line)
            meta[key], key_lines[key] = loader.construct_object(value_node, deep=True), line
        return meta, key_lines
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "malformed"
        raise ContentError(path, f"the front matter is not valid YAML: {problem}", mark.line + 2 if mark else 2) from None
    except yaml.YAMLError as error:
        raise ContentError(path, f"the front matter is not valid YAML: {error}", 2) from None
    finally:
        loader.dispose()


def _check_front_matter(path, meta, key_lines):
    def fail(key, message):
        raise ContentError(path, message, key_lines.get(key, 2))

    for key in REQUIRED_KEYS:
        if key not in meta:
            fail(key, f"'{key}' is required in the front matter")

    def text(key, default="", max_length=None):
        value = meta.get(key, default)
        if value is None:
            value = default
        if not isinstance(value, str):
            fail(key, f"'{key}' must be text, not {type(value).__name__}")
        value = " ".join(value.split())
        if key in REQUIRED_KEYS and not value:
            fail(key, f"'{key}' must not be empty")
        if max_length and len(value) > max_length:
            fail(key, f"'{key}' is {len(value)} characters long; the limit is {max_length}")
        return value

    def text_list(key, what="names"):
        value = meta.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            fail(key, f"'{key}' must be a list of {what}, for example {key}: [First, Second]")
        items = [" ".join(item.split()) for item in value]
        if len(set(items)) != len(items):
            fail(key, f"'{key}' lists the same entry twice")
        return items

    slug = text("slug")
    if not SLUG_RE.match(slug):
        fail("slug", f"slug '{slug}' may use only lowercase letters a-z, digits and single hyphens")
    related = text_list("related")
    for target in related:
        if not SLUG_RE.match(target):
            fail("related", f"'related' entry '{target}' is not a slug (lowercase letters, digits and hyphens)")
    redirect_from = text_list("redirect_from")
    for old in redirect_from:
        if not SLUG_RE.match(old) or old == slug:
            fail("redirect_from", f"'redirect_from' entry '{old}' is not a former slug of this article (a slug other than '{slug}')")

    kind = text("kind", Article.Kind.CONDITION)
    if kind not in Article.Kind.values:
        fail("kind", f"unknown kind '{kind}'; use one of: {', '.join(Article.Kind.values)}")
    schema_type = text("schema_type")
    if schema_type and schema_type not in KINDS[kind].schema_types:
        fail("schema_type", f"schema_type '{schema_type}' does not fit a {kind} article; use one of: {', '.join(KINDS[kind].schema_types)}")
    emergency = text_list("emergency", "short phrases")
    problem = emergency_signs_problem(kind, emergency)
    if problem:
        fail("emergency", problem)
    codes = text_list("codes", "ICD-10-CM codes")
    problem = codes_problem(kind, codes)
    if problem:
        fail("codes", problem)
    codes = validate_all(codes)
    status = text("status", Article.Status.DRAFT)
    if status not in Article.Status.values:
        fail("status", f"unknown status '{status}'; use one of: {', '.join(Article.Status.values)}")

    reviewed_on = meta.get("reviewed_on")
    if reviewed_on is not None:
        try:
            reviewed_on = datetime.date.fromisoformat(str(reviewed_on))
        except ValueError:
            fail("reviewed_on", f"reviewed_on '{reviewed_on}' is not a real date; write it as YYYY-MM-DD")

    return {
        "title": text("title", max_length=200),
        "slug": slug,
        "kind": kind,
        "schema_type": schema_type,
        "summary": text("summary", max_length=600),
        "also_known_as": text_list("also_known_as"),
        "categories": text_list("categories"),
        "related": related,
        "reviewed_on": reviewed_on,
        "reviewed_by": text("reviewed_by", max_length=200),
        "status": status,
        "emergency": emergency,
        "codes": codes,
        "redirect_from": redirect_from,
    }


def _kind_headings(kind):
    return ", ".join(str(SectionKind(section).label) for section in sections_of(kind))


def _parse_body(path, lines, start, kind=Article.Kind.CONDITION):
    """``(sections, heading lines, link lines)`` of the body; the headings must be ``kind``'s."""
    own = set(sections_of(kind))
    sections, heading_lines, link_lines = {}, {}, {}
    current, body, fence = None, [], None

    def close_section():
        if current is None:
            return
        text = "\n".join(body).strip("\n").rstrip()
        if not text.strip():
            raise ContentError(path, f"section '{SectionKind(current).label}' is empty; add text or remove its heading", heading_lines[current])
        sections[current] = text

    for number, line in enumerate(lines[start:], start=start + 1):
        fence_match = FENCE_RE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
        heading = None if fence or fence_match else HEADING_RE.match(line)
        if heading and len(heading.group(1)) == 1:
            raise ContentError(path, "level-1 headings ('# …') are not allowed: the title comes from the front matter; sections use '## '", number)
        if heading:
            name = " ".join((heading.group(2) or "").split())
            section = SECTION_BY_HEADING.get(name.casefold())
            if section is None:
                raise ContentError(path, f"unknown section '## {name}'; {kind} articles have: {_kind_headings(kind)}", number)
            if section not in own:
                others = [other for other, info in KINDS.items() if section in info.sections]
                raise ContentError(
                    path, f"section '## {name}' belongs to {' and '.join(others)} articles, not {kind}; {kind} articles have: {_kind_headings(kind)}",
                    number)
            if section in sections or section == current:
                raise ContentError(path, f"section '{name}' is repeated (first on line {heading_lines[section]})", number)
            if current is not None and SectionKind.position(section) < SectionKind.position(current):
                raise ContentError(path, f"section '{name}' is out of order: it must come before '{SectionKind(current).label}'", number)
            close_section()
            current, body = section, []
            heading_lines[section] = number
            continue
        if current is None:
            if line.strip():
                raise ContentError(path, "text before the first section; start the body with a section heading such as '## Overview'", number)
            continue
        if not fence:
            for match in ANY_WIKILINK_RE.finditer(line):
                valid = WIKILINK_RE.fullmatch(match.group(0))
                if not valid:
                    raise ContentError(path, f"link '{match.group(0)}' is malformed; write [[slug]] or [[slug|text]] with a lowercase slug", number)
                link_lines.setdefault(valid.group(1), number)
        body.append(line)
    close_section()
    if not sections:
        raise ContentError(path, "no sections: add at least one, such as '## Overview'", len(lines))
    return sections, heading_lines, link_lines


def _yaml_value(value, flow=False):
    """``value`` as YAML on one line: text plain where YAML allows it, else in double quotes
    (as the format's examples write it: ``["Bones, Joints & Muscles"]``, ``reviewed_by: ""``)."""
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(item, flow=True) for item in value) + "]"
    text = yaml.safe_dump(value, allow_unicode=True, width=1_000_000).removesuffix("\n...\n").rstrip("\n")
    # Inside [ ] a comma or bracket would split or end the item. A JSON string is a YAML double-quoted scalar.
    quoted = text.startswith(("'", '"')) or not value or (flow and any(c in value for c in ",[]{}"))
    return json.dumps(value, ensure_ascii=False) if quoted else text


def dump(source):
    """The file text for an ``ArticleSource``: the inverse of ``parse``."""
    out = ["---"]
    out.append(f"title: {_yaml_value(source.title)}")
    out.append(f"slug: {source.slug}")
    out.append(f"kind: {source.kind}")
    if source.schema_type:
        out.append(f"schema_type: {source.schema_type}")
    out.append("summary: >-")
    out.extend(f"  {line}" for line in _wrap(source.summary))
    out.append(f"also_known_as: {_yaml_value(source.also_known_as, flow=True)}")
    out.append(f"categories: {_yaml_value(source.categories, flow=True)}")
    out.append(f"related: {_yaml_value(source.related, flow=True)}")
    if source.reviewed_on:
        out.append(f"reviewed_on: {source.reviewed_on.isoformat()}")
    out.append(f"reviewed_by: {_yaml_value(source.reviewed_by)}")
    out.append(f"status: {source.status}")
    if source.emergency:
        out.append(f"emergency: {_yaml_value(source.emergency, flow=True)}")
    if source.codes:
        out.append(f"codes: {_yaml_value(source.codes, flow=True)}")
    if source.redirect_from:
        out.append(f"redirect_from: {_yaml_value(source.redirect_from, flow=True)}")
    out.append("---")
    for section in sections_of(source.kind):
        if section in source.sections:
            out += ["", f"## {SectionKind(section).label}", "", source.sections[section]]
    return "\n".join(out) + "\n"


def _wrap(text, width=86):
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [""]
