"""What gets indexed for an article, declared once for every backend.

``SEARCH_FIELDS`` names each field and its boost, once for every backend: the Whoosh
backend uses the boosts as field boosts, the PostgreSQL backend derives its weight
classes (A–D) and ``SearchRank`` weights from them (``postgres_weights``). ``body`` is
the text of every section but References; each section's own text is kept beside it,
so a hit can name and link the section that matched best (see ``highlight``).

Nothing here imports a search engine: each backend brings its own stemmer (Whoosh's
analyzer for Whoosh, the Snowball stemmer PostgreSQL's ``english`` configuration runs for
PostgreSQL), so a deployment loads only the engine it uses.
"""

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass

from ..markdown import plain_text
from ..models import SectionKind
from ..text import clean, clean_all, straight_quotes
from .language import canonical_spelling, canonical_text, is_english, synonyms, with_synonyms


@dataclass(frozen=True)
class SearchField:
    """One indexed field: ``name`` is the ``SearchDocument`` attribute (and the Whoosh field;
    the PostgreSQL column is ``folded_<name>``), ``boost`` its weight relative to the others."""

    name: str
    boost: float


# Title first, then the other names, the summary, the section text.
SEARCH_FIELDS = (SearchField("title", 10.0), SearchField("aka", 8.0), SearchField("summary", 2.0), SearchField("body", 1.0))

POSTGRES_WEIGHT_CLASSES = "ABCD"


def postgres_weights(search_fields=SEARCH_FIELDS):
    """``({field name: weight class}, [D, C, B, A] rank weights)`` for PostgreSQL, from the boosts.

    PostgreSQL labels each lexeme with one of four classes, A (highest) to D, and
    ``ts_rank`` multiplies a match by its class's weight (a list of four floats, D first:
    https://www.postgresql.org/docs/current/textsearch-controls.html#TEXTSEARCH-RANKING).
    The fields, in falling boost order, take A, B, C, D, and each class's weight is its
    field's boost over the highest boost. Raises ``ValueError`` for more than four fields.
    """
    ordered = sorted(search_fields, key=lambda field: -field.boost)
    if len(ordered) > len(POSTGRES_WEIGHT_CLASSES):
        raise ValueError("PostgreSQL has four weight classes; %d fields were declared" % len(ordered))
    top = ordered[0].boost
    classes = {field.name: label for field, label in zip(ordered, POSTGRES_WEIGHT_CLASSES)}
    weights = {label: field.boost / top for field, label in zip(ordered, POSTGRES_WEIGHT_CLASSES)}
    return classes, [weights.get(label, 0.0) for label in reversed(POSTGRES_WEIGHT_CLASSES)]


@dataclass(frozen=True)
class SearchDocument:
    slug: str
    title: str
    url: str
    summary: str
    aka: tuple
    categories: tuple
    sections: tuple  # ((kind, plain text), …) in page order, References left out
    kind: str = "condition"  # the article's kind (condition, symptom, test, treatment, body)

    @classmethod
    def from_article(cls, article):
        """The document of a saved ``Article`` (its sections and categories read or prefetched)."""
        return cls.from_parts(article, [category.slug for category in article.categories.all()],
                              [(section.kind, section.html) for section in article.sections.all()])

    @classmethod
    def from_parts(cls, article, category_slugs, sections):
        """The document of ``article`` (saved or not) with these category slugs and
        ``sections``, ``[(kind, html)]`` in page order: what ``from_article`` gives once they are saved."""
        return cls(
            slug=article.slug,
            title=clean(article.title),
            url=article.get_absolute_url(),
            summary=clean(article.summary),
            aka=tuple(clean_all(article.also_known_as)),
            kind=article.kind,
            categories=tuple(sorted(category_slugs)),
            sections=tuple((kind, clean(plain_text(html))) for kind, html in sections if kind != SectionKind.REFERENCES),
        )

    @property
    def content_hash(self):
        """A fingerprint of everything indexed and of how it is analysed (``ANALYSIS_VERSION``),
        so a drift check spots stale documents, also after an upgrade that indexes differently."""
        data = json.dumps([ANALYSIS_VERSION, asdict(self)], sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:32]


# Raised whenever a change makes existing indexes stale (new analysis, new stored fields):
# ``rebuild_index --check`` then reports every document as stale until the index is rebuilt.
ANALYSIS_VERSION = 2  # 2: canonical British/American spelling, names kept whole (issue 15)


def normalize_name(text):
    """Lower-case, accents folded, possessives and punctuation dropped: "Cushing's" → "cushing"."""
    text = re.sub(r"'s\b", "", straight_quotes(text), flags=re.IGNORECASE)  # before folding to ASCII, which would drop a curly apostrophe
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def name_key(text):
    """A name as search compares names: ``normalize_name`` with every word in its canonical
    spelling (``language.canonical_spelling``), so "Bone marrow oedema" → "bone marrow edema"."""
    return canonical_text(normalize_name(text))


# Query normalisation: what a search may cost is bounded here, before any engine sees it.
# Both engines' cost grows with the words searched (each word is a few index lookups and
# a scoring clause per field), and a quoted phrase costs more than its words (Whoosh
# reads word positions; PostgreSQL rechecks every candidate's vector for the <-> chain),
# the more so when a word repeats in it. So repeats are collapsed and every word, phrase
# words included, counts towards one cap.
MAX_QUERY_WORDS = 12  # words searched in all, the words of quoted phrases included
MAX_PHRASES = 3  # quoted phrases kept as phrases; the words of any more are searched as words
MAX_PHRASE_WORDS = 6  # words kept of one phrase
MAX_WORD_LENGTH = 50  # characters of one word ("pneumonoultramicroscopicsilicovolcanoconiosis" is 45)
MAX_QUERY_LENGTH = 200  # characters of a query that are used
ABSURD_QUERY_LENGTH = 2000  # longer than this is refused (400), not trimmed
OPERATOR_WORDS = {"AND", "OR", "NOT"}

_WORD = r"\w+(?:['’]\w+)*"  # "Cushing's" is one word
_PART_RE = re.compile(r'"([^"]*)"|(%s)' % _WORD)  # a quoted phrase, or a word
_WORD_RE = re.compile(_WORD)
_POSSESSIVE_RE = re.compile(r"['’]s$")


def _word_key(word):
    """What makes two words the same word here: case, accents and a possessive 's aside
    (accent marks are dropped, other letters kept, so "β2" and "α2" stay apart)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return _POSSESSIVE_RE.sub("", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _distinct(words):
    seen, kept = set(), []
    for word in words:
        if _word_key(word) not in seen:
            seen.add(_word_key(word))
            kept.append(word)
    return kept


def parse_query(text):
    """A query's parts in reading order, normalised: each a word (``str``) or a quoted
    phrase (a ``tuple`` of two or more words).

    Only words are kept, never query syntax. A word already seen (case and accents
    aside) is dropped, and so is a word repeated inside a phrase and a phrase identical
    to an earlier one; a phrase left with one word is that word. A phrase keeps at most
    ``MAX_PHRASE_WORDS`` words, at most ``MAX_PHRASES`` phrases stay phrases, and
    ``MAX_QUERY_WORDS`` counts every word, phrase words included, so a quoted phrase of
    200 characters repeating one word becomes that one word. An unclosed quote is ignored.
    """
    text = straight_quotes(clean(text.replace("\x00", " ")[:ABSURD_QUERY_LENGTH]))
    parts, seen_words, seen_phrases, used = [], set(), set(), 0

    def add_word(word):
        nonlocal used
        key = _word_key(word)
        if used < MAX_QUERY_WORDS and key not in seen_words:
            seen_words.add(key)
            parts.append(word)
            used += 1

    for match in _PART_RE.finditer(text):
        quoted, word = match.groups()
        if word is not None:
            add_word(word[:MAX_WORD_LENGTH])
            continue
        words = _distinct(w[:MAX_WORD_LENGTH] for w in _WORD_RE.findall(quoted))[:MAX_PHRASE_WORDS][: MAX_QUERY_WORDS - used]
        key = tuple(map(_word_key, words))
        if len(words) < 2 or len(seen_phrases) == MAX_PHRASES:
            for word in words:
                add_word(word)
        elif key not in seen_phrases:
            seen_phrases.add(key)
            parts.append(tuple(words))
            used += len(words)
    return parts


def normalize_query(text):
    """The normalised query as text (``parse_query``'s parts, phrases in quotes): what is
    searched, and what the search page shows it searched for. Normalising it again changes nothing."""
    return " ".join('"%s"' % " ".join(part) if isinstance(part, tuple) else part for part in parse_query(text))


def clean_query(raw):
    """A query as the search page, the suggestions and the API take it: NULs and extra
    whitespace gone, trimmed to ``MAX_QUERY_LENGTH``, then normalised (``parse_query``);
    ``None`` when absurdly long."""
    if len(raw) > ABSURD_QUERY_LENGTH:
        return None
    return normalize_query(" ".join(raw.replace("\x00", " ").split())[:MAX_QUERY_LENGTH])


def query_words(text):
    """``(phrases, words)`` an engine searches for ``text``: the normalised parts
    (``parse_query``), phrases as text, possessives dropped from words ("Cushing's" →
    "Cushing"), and AND, OR and NOT left out unless the query is that one word."""
    parts = parse_query(text)
    phrases = [" ".join(part) for part in parts if isinstance(part, tuple)]
    words = _distinct(_POSSESSIVE_RE.sub("", part) for part in parts if isinstance(part, str))
    searched = [word for word in words if word.upper() not in OPERATOR_WORDS]
    return phrases, searched if searched or phrases or len(words) != 1 else words


@dataclass(frozen=True)
class QueryPart:
    """One thing a query asks for, which an article has or has not: a word or a quoted phrase.

    ``alternatives`` are what satisfies it, each a tuple of words (one word, or a phrase):
    first the part as typed (accents folded, lower case, canonical spelling), then the
    other terms of its synonym group. ``prefix`` is set when the word is not an English
    word (someone stopped typing mid-word: "hyperlipid"): a name word that begins with it
    also satisfies the part, ranked below a whole-word match.
    """

    alternatives: tuple
    prefix: str = ""

    @property
    def words(self):
        return self.alternatives[0]


@dataclass(frozen=True)
class AnalysedQuery:
    """A query as every backend searches it (``analyse_query``).

    ``parts``: the ``QueryPart``s, phrases first; an article with every part is a complete
    match. ``words``: the words as typed (possessives dropped), for spelling and
    highlighting. ``highlight``: those words with their alternatives' words, for marking
    snippets. ``exact``: the whole query as a name (``name_key``), for the exact-name
    bonus. ``name_phrase``: the same when it has more than one word, for the bonus an
    article gets when one of its names contains the query's words in order, stop words and
    single letters included ("vitamin d", "hepatitis b", "crps type 1"), which the
    stemmed fields drop.
    """

    text: str
    parts: tuple
    words: tuple
    highlight: tuple
    exact: str
    name_phrase: str
    mentions: tuple = ()


PREFIX_MIN_LENGTH = 4  # shorter word beginnings would match too many names
MENTION_MAX_WORDS = 4  # the longest run of query words looked up as a name ("bone marrow biopsy")

# A word in more than this share of the articles is common ("pain", "bone" in a library
# about bones; "how", "does" anywhere): it still ranks, but an article need not have it to
# match "all your words" (MySQL's natural-language full-text search treats words in half
# the rows the same way: https://dev.mysql.com/doc/refman/8.4/en/fulltext-natural-language.html).
COMMON_SHARE = 0.5


def required_parts(frequencies, total):
    """Which parts an article must have to match "all your words": a list of booleans, one
    per part, from each part's document frequency (``frequencies``) among ``total``
    articles. Common parts (``COMMON_SHARE``) are not required; when every part is common
    (a small library on one subject), the rarest part is ("how long does an mri scan take"
    in a library where most articles mention MRI requires "mri")."""
    required = [n <= total * COMMON_SHARE for n in frequencies]
    if not any(required):
        rarest = min(frequencies, default=0)
        required = [n == rarest for n in frequencies]
    return required


def _mentions(words):
    """Runs of 1–``MENTION_MAX_WORDS`` query words that could be an article's name, by length
    (``{n: (run, …)}``), the whole query left out (the exact-name bonus covers it). A lone
    English word ("bones", "as") is left out: it names too much to point at one article;
    a lone abbreviation or term ("mri", "osteoporosis") is kept."""
    mentions = {}
    for size in range(1, min(MENTION_MAX_WORDS, len(words) - 1) + 1):
        runs = (words[i : i + size] for i in range(len(words) - size + 1))
        found = [" ".join(run) for run in runs if size > 1 or not is_english(run[0])]
        if found:
            mentions[size] = tuple(dict.fromkeys(found))
    return tuple(mentions.items())


def _query_words(word):
    return [canonical_spelling(w) for w in re.findall(r"\w+", _word_key(word))]


def analyse_query(text):
    """``AnalysedQuery`` for ``text`` (normalised first, as ``query_words`` does)."""
    phrases, words = query_words(text)
    groups = synonyms()
    parts = []
    for phrase in phrases:
        term = tuple(w for word in phrase.split() for w in _query_words(word))
        parts.append(QueryPart((term, *(t for t in groups.get(term, ()) if t != term))))
    typed = [w for word in words for w in _query_words(word)]
    for term, alternatives in with_synonyms(typed):
        word = term[0] if len(term) == 1 else ""
        prefix = word if len(word) >= PREFIX_MIN_LENGTH and word.isalpha() and word.isascii() and not is_english(word) else ""
        parts.append(QueryPart(alternatives, prefix=prefix))
    exact = name_key(text)
    highlight = tuple(dict.fromkeys([*words, *(w for part in parts for alternative in part.alternatives for w in alternative)]))
    return AnalysedQuery(
        text=text, parts=tuple(parts), words=tuple(words), highlight=highlight, exact=exact,
        name_phrase=exact if len(exact.split()) > 1 else "", mentions=_mentions(exact.split()),
    )


def matched_other_name(title, other_names, query_stems, stems):
    """The other name a query matched, when the title alone does not explain the hit.

    ``stems`` is the backend's stemmer (text → list of stems), the one ``query_stems`` came from.
    """
    if not query_stems or set(query_stems) <= set(stems(title)):
        return ""
    overlap = {name: len(set(query_stems) & set(stems(name))) for name in other_names}
    best = max(overlap, key=overlap.get, default="")
    return best if overlap.get(best) else ""


def fold(text):
    """Accents folded (é → e), for engines that match bytes."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
