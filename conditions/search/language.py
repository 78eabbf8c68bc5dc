"""What words mean to search: one spelling for British and American words, synonyms
editors keep, and which words are English.

These are library decisions, taken once here and applied the same way by every backend.

**Spelling variants.** British and American spellings are one word to search: every word
is reduced to one canonical spelling (the American one, as the articles are written)
before it is stemmed, both when an article is indexed and when a query is searched, so
"tumour" and "tumor" are the same indexed term and find the same articles. The pairs come
from breame (https://github.com/cdpierse/breame), a maintained list of British/American
spelling differences (colour/color, organise/organize, tumour/tumor, oestrogen/estrogen,
haemorrhage/hemorrhage …). Medical words of Greek and Latin origin are spelt with the
digraphs *ae* and *oe* in British English and with *e* in American English (Merriam-Webster,
"Spelling of 'ae' and 'oe' words"; Wikipedia, "American and British English spelling
differences", section "ae and oe"); breame does not list most of them (oedema, haematoma,
hyperlipidaemia, ischaemia), so for a word that neither breame nor the English word list
below knows, that documented rule applies: *ae* or *oe* between letters, or at the start,
becomes *e*. Words the English list knows keep their *ae*/*oe* (shoes, poem, coefficient).

**Synonyms.** A small text file (``HEALTHLIB_SEARCH_SYNONYMS``, ``content/synonyms.txt``)
lists lay and international terms that mean the same thing: one group a line, terms
separated by commas ("physiotherapy, physical therapy, physio"), ``#`` comments. A query
term in a group also matches every other term of its group. Editors extend the file; a
change applies to the next search (the file is reread when it changes), no reindexing.

**English words.** pyspellchecker's English word-frequency list (about 160,000 words,
https://github.com/barrust/pyspellchecker) says which words are English, so "Did you
mean" never corrects a correctly spelt word that our articles happen not to use
("teenager", "ear").

Libraries over our own lists: both lists are maintained elsewhere and installed as
packages; the only list kept here is the synonym file, which is the library's own
editorial choice.
"""

import logging
import re
from functools import lru_cache
from pathlib import Path

from breame.spelling import british_spelling_exists, get_american_spelling
from django.conf import settings

logger = logging.getLogger(__name__)

_WORD_RE = re.compile(r"[a-z]+")
_DIGRAPH_RE = re.compile(r"(?<=[a-z])(ae|oe)(?=[a-z])|^(ae|oe)(?=[a-z])")


@lru_cache(maxsize=1)
def _english():
    from spellchecker import SpellChecker  # loads its word list (~0.15 s) on first use

    return SpellChecker(distance=1)


def is_english(word):
    """Whether ``word`` (any case) is in the English word list."""
    return word.casefold() in _english()


@lru_cache(maxsize=100_000)
def canonical_spelling(word):
    """The one spelling search uses for ``word`` (lower-case ASCII letters): the American
    spelling of a British one ("tumour" → "tumor", "oedema" → "edema"), else ``word``."""
    if british_spelling_exists(word):
        return get_american_spelling(word)
    if ("ae" in word or "oe" in word) and len(word) > 4 and not is_english(word):
        return _DIGRAPH_RE.sub("e", word)
    return word


def canonical_text(text):
    """``text`` (folded, any case) with each word in its canonical spelling, lower-cased."""
    return _WORD_RE.sub(lambda match: canonical_spelling(match.group()), text.casefold())


# -- synonyms -------------------------------------------------------------------------------


def _terms(line):
    return tuple(tuple(_WORD_RE.findall(term.casefold())) for term in line.split(","))


def parse_synonyms(text):
    """``{term: group}`` from the synonym file's text: each term (a tuple of words, in
    canonical spelling) maps to its group (a tuple of terms, file order)."""
    groups = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        group = tuple(dict.fromkeys(tuple(canonical_spelling(w) for w in term) for term in _terms(line) if term))
        if len(group) < 2:
            continue
        for term in group:
            groups[term] = tuple(dict.fromkeys((*groups.get(term, ()), *group)))
    return groups


_loaded = {}


def synonyms():
    """The synonym groups of ``HEALTHLIB_SEARCH_SYNONYMS`` (see ``parse_synonyms``), reread
    when the file changes; ``{}`` when there is no file (a broken file is logged, not raised)."""
    path = Path(settings.HEALTHLIB_SEARCH_SYNONYMS) if settings.HEALTHLIB_SEARCH_SYNONYMS else None
    try:
        stamp = (path, path.stat().st_mtime_ns, path.stat().st_size) if path else None
    except OSError:
        return {}
    if stamp is None:
        return {}
    if _loaded.get("stamp") != stamp:
        try:
            _loaded["groups"] = parse_synonyms(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            logger.exception("the search synonym file %s cannot be read", path)
            _loaded["groups"] = {}
        _loaded["stamp"] = stamp
    return _loaded["groups"]


MAX_SYNONYM_WORDS = 4  # the longest term looked up in the synonym file


def with_synonyms(words):
    """``words`` (canonical, lower case) grouped into terms, longest synonym-file terms first:
    ``[(term, (alternative, …)), …]``, where each term and alternative is a tuple of words and
    the alternatives are the term's synonym group (the term itself first), or just the term."""
    groups, found, i = synonyms(), [], 0
    while i < len(words):
        for size in range(min(MAX_SYNONYM_WORDS, len(words) - i), 0, -1):
            term = tuple(words[i : i + size])
            if term in groups:
                found.append((term, (term, *(t for t in groups[term] if t != term))))
                i += size
                break
        else:
            found.append(((words[i],), ((words[i],),)))
            i += 1
    return found
