"""Autocomplete over article names, held in memory: a sorted list searched with ``bisect``.

Every word-start of every name is an entry ("bone marrow edema" gives "bone marrow
edema", "marrow edema" and "edema"), so typing the start of any word of a name finds
it in O(log n) however large the library. Backends build one per index generation;
5,000 articles give about 60,000 entries (a few megabytes, built in well under a second).
"""

import heapq
from bisect import bisect_left
from dataclasses import dataclass

from .base import Suggestion
from .documents import normalize_name


@dataclass(frozen=True)
class NamedArticle:
    title: str
    url: str
    names: tuple  # the title first, then the other names


class NameIndex:
    def __init__(self, articles):
        self.articles = list(articles)
        entries = []
        for number, article in enumerate(self.articles):
            for position, name in enumerate(article.names):
                words = normalize_name(name).split()
                for start in range(len(words)):
                    # Rank: names that start with what was typed, then the title over
                    # other names, then alphabetical by title, then shorter names.
                    rank = (start > 0, position > 0, article.title.casefold(), len(name))
                    entries.append((" ".join(words[start:]), rank, number, position))
        entries.sort()
        self.keys = [entry[0] for entry in entries]
        self.entries = entries

    def _range(self, typed):
        low = bisect_left(self.keys, typed)
        high = bisect_left(self.keys, typed + "\uffff", lo=low)
        return self.entries[low:high]

    def complete(self, prefix, limit=8):
        typed = normalize_name(prefix)
        if not typed:
            return []
        candidates = self._range(typed)
        words = typed.split()
        if not candidates and len(words) > 1:
            # Words typed out of order ("edema bone"): every word must start a word of a name.
            candidates = [entry for entry in self._range(words[0]) if self._has_words(entry[2], words[1:])]
        best = {}
        # More than ``limit`` candidates are ranked because one article can have several names.
        for _, rank, number, position in heapq.nsmallest(limit * 4, candidates, key=lambda entry: entry[1]):
            if number not in best:
                best[number] = (rank, position)
            if len(best) == limit:
                break
        ranked = sorted(best.items(), key=lambda item: item[1][0])
        return [
            Suggestion(self.articles[n].title, self.articles[n].url, self.articles[n].names[position] if position else "")
            for n, (_, position) in ranked
        ]

    def _has_words(self, number, words):
        name_words = {word for name in self.articles[number].names for word in normalize_name(name).split()}
        return all(any(name_word.startswith(word) for name_word in name_words) for word in words)
