"""What gets indexed for an article, declared once for every backend.

``SEARCH_FIELDS`` names each field and its weight; the Whoosh backend maps the weights
to field boosts (a PostgreSQL backend maps the same order to weights A–D). ``body`` is
the text of every section but References; each section's own text is kept beside it,
so a hit can name and link the section that matched best (see ``highlight``).
"""

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass

from whoosh.analysis import CharsetFilter, StemmingAnalyzer
from whoosh.support.charset import accent_map

from ..markdown import plain_text
from ..models import SectionKind

# English stemming with accent folding, shared by every backend's Python side (Whoosh's
# analyzer: a well-kept Porter stemmer that is already a dependency).
STEMMER = StemmingAnalyzer() | CharsetFilter(accent_map)

# (field, boost): title first, then the other names, the summary, the section text.
SEARCH_FIELDS = [("title", 10.0), ("aka", 8.0), ("summary", 2.0), ("body", 1.0)]


@dataclass(frozen=True)
class SearchDocument:
    slug: str
    title: str
    url: str
    summary: str
    aka: tuple
    categories: tuple
    sections: tuple  # ((kind, plain text), …) in page order, References left out

    @classmethod
    def from_article(cls, article):
        return cls(
            slug=article.slug,
            title=article.title,
            url=article.get_absolute_url(),
            summary=article.summary,
            aka=tuple(article.also_known_as),
            categories=tuple(sorted(category.slug for category in article.categories.all())),
            sections=tuple(
                (section.kind, plain_text(section.html))
                for section in article.sections.all()
                if section.kind != SectionKind.REFERENCES
            ),
        )

    @property
    def content_hash(self):
        """A fingerprint of everything indexed, so a drift check can spot stale documents."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]


def normalize_name(text):
    """Lower-case, accents folded, possessives and punctuation dropped: "Cushing's" → "cushing"."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    text = re.sub(r"['’]s\b", "", text)
    return " ".join(re.findall(r"[a-z0-9]+", text))


MAX_QUERY_WORDS = 12
MAX_QUERY_LENGTH = 200  # characters of a query that are used
ABSURD_QUERY_LENGTH = 2000  # longer than this is refused (400), not trimmed


def clean_query(raw):
    """A query as the search page and the API take it: NULs gone, whitespace collapsed,
    trimmed to ``MAX_QUERY_LENGTH``; ``None`` when absurdly long."""
    if len(raw) > ABSURD_QUERY_LENGTH:
        return None
    return " ".join(raw.replace("\x00", " ").split())[:MAX_QUERY_LENGTH]


def query_words(text):
    """The words of a user's query (quoted phrases kept together), never query syntax."""
    text = text.replace("\x00", " ")[:500]
    phrases = [p for p in re.findall(r'"([^"]+)"', text) if re.search(r"\w", p)]
    rest = re.sub(r'"[^"]*"?', " ", text)
    words = [w for w in re.findall(r"\w+(?:['’]\w+)*", rest)]
    words = [re.sub(r"['’]s$", "", w) for w in words]
    words = [w for w in words if w.upper() not in ("AND", "OR", "NOT") or len(words) == 1]
    return phrases[:3], words[:MAX_QUERY_WORDS]


def stems(text):
    return [token.text for token in STEMMER(text)]


def matched_other_name(title, other_names, query_stems):
    """The other name a query matched, when the title alone does not explain the hit."""
    if not query_stems or set(query_stems) <= set(stems(title)):
        return ""
    overlap = {name: len(set(query_stems) & set(stems(name))) for name in other_names}
    best = max(overlap, key=overlap.get, default="")
    return best if overlap.get(best) else ""


def fold(text):
    """Accents folded (é → e), for engines that match bytes."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
