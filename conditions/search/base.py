"""The search backend interface and the results it returns (after Wagtail's search framework).

Every search has a time budget (``HEALTHLIB_SEARCH_TIME_BUDGET`` seconds, a ``Deadline``):
one request must not hold a web worker for seconds, since a sync worker serves nobody
else meanwhile. A backend stops at its expensive steps once the budget is spent and
answers with the hits it has scored (``SearchResults.partial``), or raises
``SearchTooComplex`` when it has none; queries are normalised first
(``documents.parse_query``), so a normal query never comes near the budget.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..kinds import KINDS


@dataclass
class Hit:
    slug: str
    title: str
    url: str
    summary: str
    matched_name: str = ""          # the also-known-as name the query matched, if any
    section: str = ""               # kind of the best-matching section (its page anchor)
    section_label: str = ""
    snippet: str = ""               # sanitized HTML with <mark> around matched words
    kind: str = ""                  # the article's kind (condition, symptom, test, treatment, body)
    complete: bool = True           # the article has every word of the query (else: some of them)

    @property
    def kind_label(self):
        return KINDS[self.kind].label if self.kind in KINDS else ""


class SearchResults(Sequence):
    """Every hit for one query, best first, as a sequence Django's ``Paginator`` pages:
    the ``complete`` hits, with every word of the query, ranked among themselves, then
    those with only some of the words (``Hit.complete`` false), ranked among themselves.

    How many there are is known when the backend returns (``len()``, ``count()``), with
    the counts per category and per kind of article (each facet counted with the other's
    filter applied, not its own), the "Did you mean" ``suggestion`` ('' when none) and whether
    the hits come from the typo-tolerant retry (``fuzzy``). Hits are ranked and built only
    when asked for: ``results[10:20]`` is a list of the ``Hit`` objects ranked 11th to
    20th, for which ``fetch(start, stop)`` asks the backend (a ``([Hit, …], partial)``
    pair), so a page of ten scores ten. ``partial`` turns true once a slice was cut short
    by the time budget (the best of the hits scored in time); a slice raises
    ``SearchTooComplex`` when nothing of it was found in time.
    """

    def __init__(self, query, *, total=0, complete=None, fetch=None, category_counts=None, kind_counts=None, suggestion="", fuzzy=False):
        self.query = query
        self.total = total
        # How many hits have every word of the query; they come first, the rest after.
        self.complete = total if complete is None else complete
        self.category_counts = category_counts or {}  # category slug → number of hits
        self.kind_counts = kind_counts or {}  # article kind → number of hits
        self.suggestion = suggestion
        self.fuzzy = fuzzy
        self.partial = False
        self._fetch = fetch

    def count(self):
        return self.total

    def __len__(self):
        return self.total

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self.total)
            if step != 1:
                raise ValueError("search results are sliced with a step of 1")
            if start >= stop:
                return []
            hits, partial = self._fetch(start, stop)
            self.partial = self.partial or partial
            return hits
        position = index + self.total if index < 0 else index
        if not 0 <= position < self.total:
            raise IndexError("search result index out of range")
        return self[position : position + 1][0]

    def __repr__(self):
        return f"<SearchResults {self.query!r}: {self.total}>"


@dataclass
class Suggestion:
    title: str
    url: str
    matched: str


class SearchUnavailable(Exception):
    """The index cannot be read (missing or corrupt); pages say so rather than fail."""


class SearchTooComplex(Exception):
    """The time budget ran out before any hit was found; pages and the API say so (422)."""

    message = _("That search is too complex to answer quickly. Try fewer words, or remove quotation marks.")


class Deadline:
    """The end of one search's time budget, on the monotonic clock."""

    def __init__(self, seconds=None):
        self.seconds = settings.HEALTHLIB_SEARCH_TIME_BUDGET if seconds is None else seconds
        self.end = time.monotonic() + self.seconds

    def remaining(self):
        return self.end - time.monotonic()

    def check(self):
        """Raise ``SearchTooComplex`` once the budget is spent."""
        if self.remaining() <= 0:
            raise SearchTooComplex


class BaseSearchBackend:
    """What every backend implements. Documents are ``SearchDocument`` instances."""

    def add(self, document):
        self.add_bulk([document])

    def add_bulk(self, documents):
        raise NotImplementedError

    def delete(self, slug):
        raise NotImplementedError

    def reset_index(self):
        raise NotImplementedError

    # Whether ``rebuild`` needs nothing but its documents and the index's own files, so that
    # it may run in a forked process while this one writes to the database (bulk imports).
    builds_aside = False

    def rebuild(self, documents, progress=None, processes=1):
        """Build a fresh index from ``documents`` and swap it in atomically.

        ``processes`` > 1 lets a backend index in parallel (it forks, so callers pass it
        only from single-threaded programs such as the ``rebuild_index`` command).
        """
        raise NotImplementedError

    def indexed_hashes(self):
        """``{slug: content_hash}`` of what the index holds (for ``rebuild_index --check``)."""
        raise NotImplementedError

    def ping(self):
        """Raise ``SearchUnavailable`` unless the index can be read (cheaply: for health checks)."""
        raise NotImplementedError

    def search(self, query, *, category=None, kind=None, budget=None):
        """``SearchResults`` for ``query`` (in the category with slug ``category`` and of the
        article kind ``kind``, if given),
        within ``budget`` seconds from now, slices included (default
        ``HEALTHLIB_SEARCH_TIME_BUDGET``); ``SearchTooComplex`` when nothing was found in
        time, ``SearchUnavailable`` when the index cannot be read."""
        raise NotImplementedError

    def autocomplete(self, prefix, *, limit=8):
        raise NotImplementedError

    def spelling(self, query):
        """A corrected query when a word is unknown and a close indexed word exists, else ''."""
        raise NotImplementedError
