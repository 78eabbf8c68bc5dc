"""The search backend interface and the results it returns (after Wagtail's search framework)."""

from dataclasses import dataclass, field


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


@dataclass
class Suggestion:
    title: str
    url: str
    matched: str


class SearchUnavailable(Exception):
    """The index cannot be read (missing or corrupt); pages say so rather than fail."""


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

    def search(self, query, *, category=None, page=1, per_page=10):
        raise NotImplementedError

    def autocomplete(self, prefix, *, limit=8):
        raise NotImplementedError

    def spelling(self, query):
        """A corrected query when a word is unknown and a close indexed word exists, else ''."""
        raise NotImplementedError
