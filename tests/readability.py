"""Flesch–Kincaid grade level of article text, for the content checks.

Grade = 0.39 × (words / sentences) + 11.8 × (syllables / words) − 15.59 (Kincaid et
al., 1975). Syllables are counted with Pyphen's bundled English hyphenation
dictionary (as textstat did before it moved to NLTK's CMU dictionary, which has to be
downloaded at run time and so cannot be used offline).
"""

import re

import pyphen

_HYPHENATOR = pyphen.Pyphen(lang="en_US")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_SENTENCE_END_RE = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n")


def syllables(word):
    vowel_groups = len(re.findall(r"[aeiouy]+", word.lower().removesuffix("e"))) or 1
    return max(vowel_groups, len(_HYPHENATOR.positions(word)) + 1)


def flesch_kincaid_grade(text):
    words = _WORD_RE.findall(text)
    sentences = max(1, len([part for part in _SENTENCE_END_RE.split(text) if _WORD_RE.search(part)]))
    if not words:
        return 0.0
    syllable_count = sum(syllables(word) for word in words)
    return 0.39 * len(words) / sentences + 11.8 * syllable_count / len(words) - 15.59
