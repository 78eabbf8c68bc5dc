"""Markdown to sanitized HTML for article sections.

markdown-it-py parses: a CommonMark implementation (the specification's own test suite
passes), well kept (the Executable Books project), with GitHub's pipe tables enabled, so
a list may follow a paragraph line directly and text behaves as on GitHub and in most
editors. It replaced Python-Markdown, whose list and table rules differ from CommonMark.
A small inline rule turns ``[[slug]]`` / ``[[slug|text]]`` into links to other articles;
a core rule then gives every ``###``/``####`` heading a stable ``id`` for anchors (unique
across the page), gives images from the library's own store (``ArticleImage``) their
``srcset``, size and lazy loading and turns any other image into its alt text (no
third-party requests, no tracking pixels), and gives table header cells ``scope="col"``.
nh3 (bindings to the Rust ``ammonia`` sanitizer) then keeps only an allow-list of tags,
attributes and URL schemes, so whatever an editor pastes cannot run script on a
patient's page; tables are wrapped in a region that scrolls sideways on phones.
Rendering happens when an article is saved, never per request.
"""

import re
import uuid
from html import unescape
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils.text import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token

# Bounded (a link's words fit in 200 characters), so a long line of "[[" costs linear time.
WIKILINK_PATTERN = r"\[\[([a-z0-9]+(?:-[a-z0-9]+){0,30})(?:\|([^\[\]\n]{1,200}))?\]\]"
WIKILINK_RE = re.compile(WIKILINK_PATTERN)
# Anything that looks like a wiki link, valid or not, so the importer can reject typos.
ANY_WIKILINK_RE = re.compile(r"\[\[([^\[\]\n]{0,300})\]\]")
# Library images: /media/images/<32 hex>/original.<ext> (see ArticleImage).
IMAGE_URL_RE = re.compile(r"/images/([0-9a-f]{32})/original\.(?:jpg|png|webp|gif)\b")
OWN_IMAGE_PATH_RE = re.compile(r"images/([0-9a-f]{32})/(?:original\.(?:jpg|png|webp|gif)|[1-9][0-9]{0,4}\.webp)")
IMAGE_SIZES = "(min-width: 64rem) 44rem, calc(100vw - 2rem)"
MD_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\s*[\(\[]")
IMG_TAG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
TABLE_OPEN_RE = re.compile(r"<table>")
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
    pattern = re.compile(r"\[\[%s(\|[^\[\]\n]{1,200})?\]\]" % re.escape(old))
    return pattern.sub(lambda match: f"[[{new}{match.group(1) or ''}]]", text)


def linked_slugs(text):
    """The article slugs a Markdown text links to with ``[[…]]``."""
    return {match.group(1) for match in WIKILINK_RE.finditer(text)}


def _wikilink(state, silent):
    """Inline rule: ``[[slug]]`` or ``[[slug|text]]`` → a link to a published article, else
    its words as plain text (a patient never meets a dead link or a draft's title)."""
    if not state.src.startswith("[[", state.pos):
        return False
    match = WIKILINK_RE.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        slug, label = match.group(1), match.group(2)
        target = state.env["targets"].get(slug)
        # Never a draft's title: the link's own text, the live (or last published) title, the slug.
        text = (label or (target.link_title if target else "") or slug.replace("-", " ")).strip()
        if target is not None and target.is_published:
            state.push("link_open", "a", 1).attrSet("href", target.get_absolute_url())
            state.push("text", "", 0).content = text
            state.push("link_close", "a", -1)
        else:
            state.push("text", "", 0).content = text
    state.pos = match.end()
    return True


def _library_rule(state):
    """Core rule, after inline parsing: heading anchors, library images, table header scope."""
    used_ids, images = state.env["used_ids"], state.env["images"]
    in_head = False
    for index, token in enumerate(state.tokens):
        if token.type == "heading_open" and token.tag in ("h3", "h4"):
            inline = state.tokens[index + 1]
            words = "".join(child.content for child in inline.children or () if child.type in ("text", "code_inline"))
            base = slugify(words) or "section"
            anchor, n = base, 2
            while anchor in used_ids:
                anchor, n = f"{base}-{n}", n + 1
            used_ids.add(anchor)
            token.attrSet("id", anchor)
        elif token.type in ("thead_open", "thead_close"):
            in_head = token.type == "thead_open"
        elif token.type == "th_open" and in_head:
            token.attrs = {"scope": "col"}  # the column's header (alignment styles are not kept)
        elif token.type == "td_open":
            token.attrs = {}
        elif token.type == "inline" and token.children:
            token.children = [_library_image(child, images) if child.type == "image" else child for child in token.children]


def _library_image(token, images):
    """An image token for one of the library's images, sized and with its renditions; any
    other image becomes its alt text (the words stay, the request goes)."""
    src = token.attrGet("src") or ""
    image = images.get(own_image(src, images))
    alt = "".join(child.content for child in token.children or ())
    if image is None or src.strip() != image.url:
        text = Token("text", "", 0)
        text.content = alt
        return text
    token.attrs = {"src": image.url, "width": str(image.width), "height": str(image.height)}
    if image.renditions:
        token.attrs.update(srcset=image.srcset, sizes=IMAGE_SIZES)
    token.attrs.update(loading="lazy", decoding="async")
    return token


def _parser():
    md = MarkdownIt("commonmark", {"html": True, "xhtmlOut": False}).enable("table")
    # Before the standard link rule sees the brackets.
    md.inline.ruler.before("link", "wikilink", _wikilink)
    md.core.ruler.push("library", _library_rule)
    return md


_MARKDOWN = _parser()


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
    html = IMG_WITHOUT_SRC_RE.sub(_alt_text, html)
    # Tables scroll sideways in their own region on a narrow screen (WCAG 1.4.10 Reflow),
    # which a keyboard can reach and scroll (tabindex) and a screen reader names.
    return TABLE_OPEN_RE.sub('<div class="table-scroll" role="region" aria-label="Table" tabindex="0"><table>', html).replace(
        "</table>", "</table></div>")


def render(text, *, targets=None, used_ids=None, images=None):
    """Render one section's Markdown to sanitized HTML.

    ``targets`` maps linked slugs to articles (anything with ``link_title``, ``is_published``
    and ``get_absolute_url()``); ``used_ids`` is shared by the sections of one page so
    heading anchors stay unique across it; ``images`` maps ``ArticleImage`` ids to images.
    """
    images = images or {}
    env = {"targets": targets or {}, "used_ids": used_ids if used_ids is not None else set(), "images": images}
    return sanitize(_MARKDOWN.render(text, env), images=set(images)).strip()


def plain_text(html):
    """Visible text of rendered HTML (for search indexing and readability checks)."""
    return unescape(nh3.clean(html, tags=set())).strip()
