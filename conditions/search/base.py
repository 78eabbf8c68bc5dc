"""The search backend interface and the results it returns (after Wagtail's search framework).

Every search has a time budget (``HEALTHLIB_SEARCH_TIME_BUDGET`` seconds, a ``Deadline``):
one request must not hold a web worker for seconds, since a sync worker serves nobody
else meanwhile. A backend stops at its expensive steps once the budget is spent and
answers with the hits it has scored (``SearchResults.partial``), or raises
``SearchTooComplex`` when it has none; queries are normalised first
(``documents.parse_query``), so a normal query never comes near the budget.
"""

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _


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


@dataclass
class SearchResults:
    query: str
    hits: list = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 0
    category_counts: dict = field(default_factory=dict)   # category slug → number of hits
    suggestion: str = ""            # "Did you mean" text, when a word is unknown
    fuzzy: bool = False             # True when results came from the typo-tolerant retry
    partial: bool = False           # True when the time budget ran out: the best of the hits scored in time


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

    def search(self, query, *, category=None, page=1, per_page=10, budget=None):
        """``SearchResults`` for ``query``, within ``budget`` seconds (default
        ``HEALTHLIB_SEARCH_TIME_BUDGET``); ``SearchTooComplex`` when nothing was found in time."""
        raise NotImplementedError

    def autocomplete(self, prefix, *, limit=8):
        raise NotImplementedError

    def spelling(self, query):
        """A corrected query when a word is unknown and a close indexed word exists, else ''."""
        raise NotImplementedError
