"""Markdown to sanitized HTML for article sections.

Python-Markdown parses (well kept, extensible); a small inline processor turns
``[[slug]]`` / ``[[slug|text]]`` into links to other articles; a tree processor gives
every ``###``/``####`` heading a stable ``id`` for anchors; another gives images from
the library's own store (``ArticleImage``) their ``srcset``, size and lazy loading and
turns any other image into its alt text (no third-party requests, no tracking pixels);
nh3 (bindings to the Rust
``ammonia`` sanitizer) then keeps only an allow-list of tags, attributes and URL
schemes, so whatever an editor pastes cannot run script on a patient's page.
Rendering happens when an article is saved, never per request.
"""

import re
import uuid
import xml.etree.ElementTree as etree
from html import unescape
from urllib.parse import urlsplit

import markdown
import nh3
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.text import slugify
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

WIKILINK_PATTERN = r"\[\[([a-z0-9]+(?:-[a-z0-9]+)*)(?:\|([^\]\n]+))?\]\]"
WIKILINK_RE = re.compile(WIKILINK_PATTERN)
# Anything that looks like a wiki link, valid or not, so the importer can reject typos.
ANY_WIKILINK_RE = re.compile(r"\[\[([^\]\n]*)\]\]")
# Library images: /media/images/<32 hex>/original.<ext> (see ArticleImage).
IMAGE_URL_RE = re.compile(r"/images/([0-9a-f]{32})/original\.(?:jpg|png|webp|gif)\b")
OWN_IMAGE_PATH_RE = re.compile(r"images/([0-9a-f]{32})/(?:original\.(?:jpg|png|webp|gif)|[1-9][0-9]{0,4}\.webp)")
IMAGE_SIZES = "(min-width: 64rem) 44rem, calc(100vw - 2rem)"
MD_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\s*[\(\[]")
IMG_TAG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
IMG_WITHOUT_SRC_RE = re.compile(r"<img\b(?![^>]*\ssrc=)[^>]*>")
ALT_RE = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)

ALLOWED_TAGS = {
    "p", "br", "hr", "h3", "h4", "ul", "ol", "li", "strong", "em", "b", "i", "a",
    "blockquote", "code", "pre", "sup", "sub", "img", "table", "thead", "tbody", "tr",
    "th", "td",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "h3": {"id"},
    "h4": {"id"},
    "img": {"src", "alt", "title", "width", "height", "srcset", "sizes", "loading", "decoding"},
    "ol": {"start"},
    "th": {"scope"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def image_ids(text):
    """The ``ArticleImage`` ids a Markdown text shows."""
    return {uuid.UUID(match.group(1)) for match in IMAGE_URL_RE.finditer(text)}


def images_without_alt(text):
    """How many images in a Markdown text (``![alt](url)`` or raw ``<img>``) have no alt text."""
    markdown_images = sum(1 for alt in MD_IMAGE_RE.findall(text) if not alt.strip())
    html_images = sum(1 for tag in IMG_TAG_RE.findall(text) if not (m := ALT_RE.search(tag)) or not "".join(m.groups("")).strip())
    return markdown_images + html_images


def rename_links(text, old, new):
    """``text`` with its ``[[old]]`` and ``[[old|words]]`` links naming ``new`` instead."""
    pattern = re.compile(r"\[\[%s(\|[^\]\n]+)?\]\]" % re.escape(old))
    return pattern.sub(lambda match: f"[[{new}{match.group(1) or ''}]]", text)


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
        # Never a draft's title: the link's own text, the live (or last published) title, the slug.
        text = (label or (target.link_title if target else "") or slug.replace("-", " ")).strip()
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


class _ImageProcessor(Treeprocessor):
    def __init__(self, md, images):
        super().__init__(md)
        self.images = images

    def run(self, root):
        for element in root.iter("img"):
            src = element.get("src", "")
            image = self.images.get(own_image(src, self.images))
            alt = element.get("alt", "")
            if image is None or src.strip() != image.url:
                # Not one of ours: keep the words, drop the request (nh3 unwraps the span).
                element.attrib.clear()
                element.tag, element.text = "span", alt
                continue
            element.attrib.clear()
            element.set("src", image.url)
            element.set("alt", alt)
            element.set("width", str(image.width))
            element.set("height", str(image.height))
            if image.renditions:
                element.set("srcset", image.srcset)
                element.set("sizes", IMAGE_SIZES)
            element.set("loading", "lazy")
            element.set("decoding", "async")


class _ArticleExtension(markdown.Extension):
    def __init__(self, targets, used_ids, images):
        super().__init__()
        self.targets, self.used_ids, self.images = targets, used_ids, images

    def extendMarkdown(self, md):
        # Priority 175 runs before the standard link pattern (160) sees the brackets.
        md.inlinePatterns.register(_WikiLinkProcessor(WIKILINK_PATTERN, md, self.targets), "wikilink", 175)
        # After inline processing (priority 20), so headings hold their final text.
        md.treeprocessors.register(_HeadingIdProcessor(md, self.used_ids), "heading_ids", 5)
        md.treeprocessors.register(_ImageProcessor(md, self.images), "library_images", 4)


def own_image(url, images=None):
    """The id (a ``uuid.UUID``) of the uploaded image whose file ``url`` addresses, or ``None``.

    The address is parsed, not searched: its scheme and host must be the media store's
    own (none for a store under this site), with no query, fragment, user or port of its
    own, and its path exactly ``<MEDIA_URL>images/<32 hex>/original.<jpg|png|webp|gif>``
    or a rendition ``…/<width>.webp``. With ``images`` (ids of the images that exist), the
    id must be one of them.
    """
    url = url.strip()
    if not url or any(c.isspace() or c == "\\" for c in url):
        return None
    try:
        parts, base = urlsplit(url), urlsplit(getattr(default_storage, "base_url", None) or settings.MEDIA_URL or "/")
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or parts.query or parts.fragment or parts.username or parts.port:
            return None
    except ValueError:  # an address that does not parse (a bad port, an unbalanced IPv6 bracket)
        return None
    match = OWN_IMAGE_PATH_RE.fullmatch(parts.path.removeprefix(base.path)) if parts.path.startswith(base.path) else None
    if match is None:
        return None
    image_id = uuid.UUID(match.group(1))
    return image_id if images is None or image_id in images else None


def _attribute_filter(images):
    def keep(tag, attribute, value):
        # Raw HTML in Markdown skips the tree processors: an <img> survives only when its
        # src and every srcset candidate address one of the library's own images.
        if tag == "img" and attribute == "src" and own_image(value, images) is None:
            return None
        if tag == "img" and attribute == "srcset":
            candidates = [part.strip().split()[0] if part.strip() else "" for part in value.split(",")]
            if not candidates or any(own_image(candidate, images) is None for candidate in candidates):
                return None
        return value

    return keep


def _alt_text(match):
    alt = ALT_RE.search(match.group())
    return "".join(alt.groups("")) if alt else ""


def sanitize(html, images=None):
    """Allow-listed HTML of ``html``; an ``<img>`` is kept only for one of the library's
    own images (``own_image``; with ``images``, one of those ids), else it becomes its alt text."""
    html = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=None,
        attribute_filter=_attribute_filter(images),
    )
    # An <img> whose src the filter refused becomes its alt text (already escaped by nh3).
    return IMG_WITHOUT_SRC_RE.sub(_alt_text, html)


def render(text, *, targets=None, used_ids=None, images=None):
    """Render one section's Markdown to sanitized HTML.

    ``targets`` maps linked slugs to articles (anything with ``link_title``, ``is_published``
    and ``get_absolute_url()``); ``used_ids`` is shared by the sections of one page so
    heading anchors stay unique across it; ``images`` maps ``ArticleImage`` ids to images.
    """
    md = markdown.Markdown(
        extensions=[_ArticleExtension(targets or {}, used_ids if used_ids is not None else set(), images or {}), "sane_lists"],
        output_format="html",
    )
    return sanitize(md.convert(text), images=set(images or ()))


def plain_text(html):
    """Visible text of rendered HTML (for search indexing and readability checks)."""
    return unescape(nh3.clean(html, tags=set())).strip()
