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


def _accented_forms():
    """{base letter: every precomposed lower-case letter (Latin-1 to Latin Extended
    Additional) that is that letter with marks}, from the Unicode decompositions."""
    forms = {}
    for code in (*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)):
        char = chr(code).lower()
        base = fold(char)
        if len(char) == 1 and len(base) == 1 and base != char and base.isalpha():
            forms.setdefault(base, set()).add(char)
    return {base: "[%s%s]" % (re.escape(base), "".join(sorted(chars))) for base, chars in forms.items()}


_ACCENTED = _accented_forms()


def _accent_blind(word):
    """A regex for ``word`` (already folded) that also matches it written with accents."""
    return "".join(_ACCENTED.get(c, re.escape(c)) for c in word)


def word_pattern(words):
    """A regex matching any of ``words`` at the start of a word, ignoring case and accents
    both ways: "meniere" marks "Ménière" and "Ménière" marks "Meniere" (article text is NFC,
    ``conditions.text``)."""
    words = sorted({fold(w) for w in words if w and fold(w)}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"\b(?:%s)\w*" % "|".join(map(_accent_blind, words)), re.IGNORECASE)


def best_section(sections, pattern):
    """``(kind, text)`` of the section matching the most distinct words (then the most often)."""
    best, best_score = None, (0, 0)
    for kind, text in sections:
        found = [m.group().casefold() for m in pattern.finditer(text)]
        score = (len(set(found)), len(found))
        if score > best_score:
            best, best_score = (kind, text), score
    return best


def snippet(text, pattern):
    """HTML: about ``SNIPPET_CHARS`` characters around the densest run of matches."""
    matches = list(pattern.finditer(text))
    if not matches:
        return ""
    starts = [m.start() for m in matches]
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
    for match in matches:
        if match.start() < start or match.end() > end:
            continue
        parts.append(escape(text[position : match.start()]))
        parts.append("<mark>%s</mark>" % escape(match.group()))
        position = match.end()
    parts.append(escape(text[position:end]))
    return "".join(parts).strip()
