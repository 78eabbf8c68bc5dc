"""Reading grade and word counts of article text, for editors (the admin form and list)
and for the content checks (``tests/test_content.py``), which use these same numbers.

Formulas (both give a US school grade):

- Flesch–Kincaid grade = 0.39 × (words / sentences) + 11.8 × (syllables / words) − 15.59
  (Kincaid, Fishburne, Rogers and Chissom, 1975, "Derivation of new readability formulas
  for Navy enlisted personnel", Naval Technical Training Command, Research Branch Report 8-75).
- SMOG grade = 1.0430 × √(polysyllables × 30 / sentences) + 3.1291, where a polysyllable
  is a word of three or more syllables (McLaughlin, 1969, "SMOG grading: a new readability
  formula", Journal of Reading 12(8): 639–646). It was normed on samples of 30 sentences,
  so it is less steady for shorter texts.

Syllables come from Pyphen (maintained by Kozea, LGPL; it ships the LibreOffice/Hunspell
``en_US`` hyphenation dictionary inside the package), with a vowel-group count (silent e
aside) as the floor, since a hyphenation dictionary leaves short words and word ends unsplit. textstat was considered: it computes these
formulas, but since 0.7.4 it counts syllables with NLTK's CMU dictionary, which NLTK
downloads at run time; a server with no internet access (this one's tests, many hospital
networks) cannot fetch it, and a missing download would fail the admin form. The two
formulas themselves are one line each, written out above with their sources.
"""

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import pyphen

from .kinds import SectionKind
from .markdown import WIKILINK_RE

GRADE_TARGET = 8.0  # above this an editor is warned (NIH and AMA advise grade 6–8 for patient materials)
MIN_WORDS = 10  # fewer words than this give no grade: "not enough text"

_HYPHENATOR = pyphen.Pyphen(lang="en_US")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE_END_RE = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n")


@lru_cache(maxsize=65536)
def syllables(word):
    """Syllables in one English ``word`` (at least 1): Pyphen's hyphenation points + 1, or
    its vowel groups when that is more (a hyphenation dictionary leaves short words and the
    ends of long ones unsplit: "osteomyelitis" has 2 points, 6 syllables), a silent e not
    counted (take, takes, used, likely; but boxes, changes, needed)."""
    stem = word.lower()
    if len(stem) > 3:
        stem = re.sub(r"(?<=[^aeiouy])e(?=ly$)|(?<=[^aeiouytd])ed$|(?<=[^aeiouysxzcg])es$|(?<=[^aeiouy])e$", "", stem)
    vowel_groups = len(re.findall(r"[aeiouy]+", stem)) or 1
    return max(vowel_groups, len(_HYPHENATOR.positions(word)) + 1)


@dataclass(frozen=True)
class Readability:
    """Counts of a text and the grades they give (``None`` below ``MIN_WORDS`` words)."""

    words: int
    sentences: int
    syllables: int
    polysyllables: int

    @property
    def enough(self):
        return self.words >= MIN_WORDS

    @property
    def flesch_kincaid(self):
        """Flesch–Kincaid grade level (float), or ``None`` when there is not enough text."""
        return self._flesch_kincaid() if self.enough else None

    def _flesch_kincaid(self):
        return 0.39 * self.words / max(1, self.sentences) + 11.8 * self.syllables / self.words - 15.59

    @property
    def smog(self):
        """SMOG grade (float), or ``None`` when there is not enough text."""
        if not self.enough:
            return None
        return 1.0430 * math.sqrt(self.polysyllables * 30 / max(1, self.sentences)) + 3.1291

    @property
    def too_hard(self):
        return self.enough and self.flesch_kincaid > GRADE_TARGET

    def as_dict(self):
        """JSON-ready: counts, grades rounded to one decimal (``None``: not enough text), and ``too_hard``."""
        grade = self.flesch_kincaid
        smog = self.smog
        return {
            "words": self.words, "sentences": self.sentences, "too_hard": self.too_hard, "target": GRADE_TARGET,
            "flesch_kincaid": None if grade is None else round(grade, 1), "smog": None if smog is None else round(smog, 1),
        }

    def __add__(self, other):
        return Readability(self.words + other.words, self.sentences + other.sentences,
                           self.syllables + other.syllables, self.polysyllables + other.polysyllables)


def prose(markdown_text):
    """The words a patient reads in Markdown ``markdown_text``: link targets, heading and
    list marks, emphasis, image addresses and table rules removed. A heading, a list item
    and a table row each end a sentence (they are set apart by a blank line), as a reader
    takes them. Patterns match within a line (``[ \\t]``, never ``\\s``), so the time stays
    linear in the text's length whatever its blank lines."""
    text = WIKILINK_RE.sub(lambda m: m.group(2) or m.group(1).replace("-", " "), markdown_text)
    text = re.sub(r"!?\[([^\]\n]*)\]\([^)\n]*\)", r"\1", text)  # [words](url) and ![alt](url): the words
    text = re.sub(r"<[^>\n]+>", " ", text)
    text = re.sub(r"^[ \t]*\|?[ \t]*:?-{3,}[^\n]*$", "", text, flags=re.M)  # a table's rule line
    text = re.sub(r"^[ \t]*\|", "\n", text, flags=re.M)  # a table row: its own sentence
    text = text.replace("|", " ")
    text = re.sub(r"^[ \t]*#+[ \t]*", "\n", text, flags=re.M)
    text = re.sub(r"^([^\n]*\S)[ \t]*$(?=\n[ \t]*(?:[-*+]|\d+[.)])[ \t])", r"\1\n", text, flags=re.M)
    text = re.sub(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+", "\n", text, flags=re.M)
    return text.replace("**", "").replace("*", "").replace("__", "")


def measure(text):
    """``Readability`` of plain ``text`` (see ``prose`` for Markdown). A sentence ends at
    ., ! or ? before a space, or at a blank line; words without an ending are one sentence,
    and a text without words has none (so an empty section adds nothing to an article)."""
    words = _WORD_RE.findall(text)
    sentences = sum(1 for part in _SENTENCE_END_RE.split(text) if _WORD_RE.search(part))
    counts = [syllables(word) for word in words]
    return Readability(len(words), sentences, sum(counts), sum(1 for n in counts if n >= 3))


def measure_markdown(markdown_text):
    return measure(prose(markdown_text))


def flesch_kincaid_grade(text):
    """Flesch–Kincaid grade of plain ``text`` (0.0 for a text without words)."""
    readability = measure(text)
    return readability._flesch_kincaid() if readability.words else 0.0


def of_sections(markdown_by_kind):
    """``({kind: Readability}, whole)`` for an article's sections (``{kind: markdown}``); the
    whole article counts every section but References, as patients read it."""
    per_section = {kind: measure_markdown(text or "") for kind, text in markdown_by_kind.items()}
    whole = sum((r for kind, r in per_section.items() if kind != SectionKind.REFERENCES), Readability(0, 0, 0, 0))
    return per_section, whole
