"""Snippets: the best-matching section of a hit and a short passage of it with <mark>s.

Whoosh's highlighter re-analyses (tokenizes and stems) each stored text per hit, which
costs more than the search itself on long articles. Here one compiled regular
expression (the query's words and their stems as word prefixes, so "fractures" also
marks "fracture") scans the stored section texts in C, and everything outside the
``<mark>`` tags is escaped, so a snippet can never carry markup from the text.
"""

import re
import unicodedata
from bisect import bisect_left

from django.utils.html import escape

SNIPPET_CHARS = 220
LEAD_CHARS = 60


def fold(text):
    """``text`` lower-cased without accent marks ("Ménière" → "meniere")."""
    return "".join(c for c in unicodedata.normalize("NFD", text.casefold()) if not unicodedata.combining(c))


def _unaccented():
    """``{code point: base letter}`` for every precomposed letter with marks (Latin-1 to Latin
    Extended Additional, either case) → its base letter, from the Unicode decompositions.
    One character for one, so a match's offsets in the translated text are its offsets in
    the original."""
    table = {}
    for code in (*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)):
        char = chr(code)
        base = fold(char)
        if len(base) == 1 and base.isalpha() and base != char.lower():
            table[code] = base
    return table


_UNACCENTED = _unaccented()
_WORD_CHARACTERS = re.compile(r"\w*")
_ACCENTED_LETTER = re.compile("[%s]" % "".join(map(chr, sorted(_UNACCENTED))))


def _unaccent(text):
    """``text`` with each letter in ``_UNACCENTED`` replaced by its base letter. Replaced
    one match at a time: ``str.translate`` with a table looks every character up in a
    Python dict once the text has any non-ASCII character (a curly quote will do), 3 ms
    for an article's section; this scans in C and calls back only for accented letters."""
    if text.isascii():
        return text
    return _ACCENTED_LETTER.sub(lambda match: _UNACCENTED[ord(match.group())], text)


class WordPattern:
    """Any of some words at the start of a word, ignoring case and accents both ways
    (``word_pattern``). ``spans(text)``: the ``(start, end)`` offsets in ``text`` of each
    whole word so begun, in order.

    The words are folded (``fold``) and so is the text, one character for one
    (``_unaccent``), rather than each letter of the expression spelt as a class of its
    accented forms: Python compiles such classes slowly (8 ms for a seven-word query
    with its stems, once per search) where a plain expression takes a fraction of a
    millisecond."""

    def __init__(self, words):
        self.regex = re.compile(r"\b(?:%s)\w*" % "|".join(map(re.escape, words)), re.IGNORECASE)

    def spans(self, text):
        return [match.span() for match in self.regex.finditer(_unaccent(text))]


def word_pattern(words):
    """A ``WordPattern`` for ``words`` (``None`` when there are none): "meniere" marks
    "Ménière" and "Ménière" marks "Meniere" (article text is NFC, ``conditions.text``). A word
    that is another of the words followed by word characters only is left out: the shorter
    one marks it already ("fractur" marks "fractures"; "o" does not mark "o'brien" whole)."""
    folded = sorted({fold(w) for w in words if w and fold(w)})
    kept = []
    for word in folded:  # in order, so a word's prefixes among the words come before it
        if not any(word.startswith(shorter) and _WORD_CHARACTERS.fullmatch(word, len(shorter)) for shorter in kept):
            kept.append(word)
    return WordPattern(sorted(kept, key=len, reverse=True)) if kept else None


def best_section(sections, pattern):
    """``(kind, text)`` of the section matching the most distinct words (then the most often)."""
    best, best_score = None, (0, 0)
    for kind, text in sections:
        found = [text[start:end].casefold() for start, end in pattern.spans(text)]
        score = (len(set(found)), len(found))
        if score > best_score:
            best, best_score = (kind, text), score
    return best


def snippet(text, pattern):
    """HTML: about ``SNIPPET_CHARS`` characters around the densest run of matches."""
    matches = pattern.spans(text)
    if not matches:
        return ""
    starts = [start for start, _ in matches]
    # The window (starting a little before a match) that covers the most matches.
    anchor = max(starts, key=lambda s: bisect_left(starts, s + SNIPPET_CHARS - LEAD_CHARS) - bisect_left(starts, s))
    start = max(0, anchor - LEAD_CHARS)
    if start:
        space = text.find(" ", start, anchor)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > anchor else end
    parts, position = [], start
    for match_start, match_end in matches:
        if match_start < start or match_end > end:
            continue
        parts.append(escape(text[position:match_start]))
        parts.append("<mark>%s</mark>" % escape(text[match_start:match_end]))
        position = match_end
    parts.append(escape(text[position:end]))
    return "".join(parts).strip()
