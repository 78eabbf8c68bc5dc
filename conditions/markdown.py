"""Markdown to sanitized HTML for article sections.

Python-Markdown parses (well kept, extensible); a small inline processor turns
``[[slug]]`` / ``[[slug|text]]`` into links to other articles; a tree processor gives
every ``###``/``####`` heading a stable ``id`` for anchors; nh3 (bindings to the Rust
``ammonia`` sanitizer) then keeps only an allow-list of tags, attributes and URL
schemes, so whatever an editor pastes cannot run script on a patient's page.
Rendering happens when an article is saved, never per request.
"""

import re
from html import unescape
import xml.etree.ElementTree as etree

import markdown
import nh3
from django.utils.text import slugify
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

WIKILINK_PATTERN = r"\[\[([a-z0-9]+(?:-[a-z0-9]+)*)(?:\|([^\]\n]+))?\]\]"
WIKILINK_RE = re.compile(WIKILINK_PATTERN)
# Anything that looks like a wiki link, valid or not, so the importer can reject typos.
ANY_WIKILINK_RE = re.compile(r"\[\[([^\]\n]*)\]\]")

ALLOWED_TAGS = {
    "p", "br", "hr", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "a",
    "blockquote", "code", "pre", "sup", "sub", "img", "table", "thead", "tbody", "tr",
    "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "h3": {"id"},
    "h4": {"id"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "th": {"scope"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def linked_slugs(text):
    """The article slugs a Markdown text links to with ``[[…]]``."""
    return {match.group(1) for match in WIKILINK_RE.finditer(text)}


class _WikiLinkProcessor(InlineProcessor):
    def __init__(self, pattern, md, targets):
        super().__init__(pattern, md)
        self.targets = targets

    def handleMatch(self, m, data):
        slug, label = m.group(1), m.group(2)
        target = self.targets.get(slug)
        text = (label or (target.title if target else slug.replace("-", " "))).strip()
        if target is None or not target.is_published:
            # Unpublished or unknown: plain text, so a patient never meets a dead link.
            return text, m.start(0), m.end(0)
        element = etree.Element("a", href=target.get_absolute_url())
        element.text = text
        return element, m.start(0), m.end(0)


class _HeadingIdProcessor(Treeprocessor):
    def __init__(self, md, used_ids):
        super().__init__(md)
        self.used_ids = used_ids

    def run(self, root):
        for element in root.iter():
            if element.tag in ("h3", "h4"):
                base = slugify("".join(element.itertext())) or "section"
                anchor, n = base, 2
                while anchor in self.used_ids:
                    anchor, n = f"{base}-{n}", n + 1
                self.used_ids.add(anchor)
                element.set("id", anchor)


class _ArticleExtension(markdown.Extension):
    def __init__(self, targets, used_ids):
        super().__init__()
        self.targets, self.used_ids = targets, used_ids

    def extendMarkdown(self, md):
        # Priority 175 runs before the standard link pattern (160) sees the brackets.
        md.inlinePatterns.register(_WikiLinkProcessor(WIKILINK_PATTERN, md, self.targets), "wikilink", 175)
        # After inline processing (priority 20), so headings hold their final text.
        md.treeprocessors.register(_HeadingIdProcessor(md, self.used_ids), "heading_ids", 5)


def sanitize(html):
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=None,
    )


def render(text, *, targets=None, used_ids=None):
    """Render one section's Markdown to sanitized HTML.

    ``targets`` maps linked slugs to articles (anything with ``title``, ``is_published``
    and ``get_absolute_url()``); ``used_ids`` is shared by the sections of one page so
    heading anchors stay unique across it.
    """
    md = markdown.Markdown(
        extensions=[_ArticleExtension(targets or {}, used_ids if used_ids is not None else set()), "sane_lists"],
        output_format="html",
    )
    return sanitize(md.convert(text))


def plain_text(html):
    """Visible text of rendered HTML (for search indexing and readability checks)."""
    return unescape(nh3.clean(html, tags=set())).strip()
