"""Whoosh backend: the embedded default, an index under the data directory.

Layout: ``<path>/current`` is a symlink to the live index folder. ``rebuild`` writes a
new folder and swaps the link with an atomic ``os.replace``, so searches keep being
answered during a rebuild. Writers take Whoosh's lock with a timeout (waiting for the
other process rather than failing), and re-check after locking that their folder is
still the live one, so an update racing a rebuild is not written into a retired index.
Readers read segment files whole into memory rather than mapping them (``_WholeFileStorage``):
files damaged under a running server then raise ordinary errors, answered with the friendly
503 and cleared by ``rebuild_index`` without a restart, instead of killing the worker with SIGBUS.

Fields: stemmed, accent-folded text for matching (``title``, ``aka``, ``summary`` with
positions for quoted phrases; ``body``, the sections' text, without positions: one
field rather than one per section halves the matchers Whoosh scores per word, and the
stored per-section text still lets a hit point at its best section); an unstemmed ``spell`` field with a word graph for did-you-mean and fuzzy
retries (Whoosh's fuzzy and spelling features only work on unstemmed terms);
``names_exact`` so a query that *is* a title or other name, or mentions one whole,
ranks that article first; ``name_words``, the names word for word (stop words and single
letters kept, with positions), for "vitamin d" and word beginnings ("hyperlipid"); and a
``card`` column (title, URL, names) for autocomplete. User text is treated as words,
never as Whoosh query syntax: queries are built from tokens, not parsed.

Ranking: Whoosh's BM25F (field-length normalised, rare words weigh more), articles with
every required part first (``documents.required_parts``), a bonus for the query's words
close together in a name or the summary (a sloppy phrase), and the name bonuses above.
A query is analysed once for both backends (``documents.analyse_query``); the analyzer
below gives British and American spellings one term.

Speed (see ``make bench``): only the page shown is scored; the result count and the
category counts come from sets of document numbers (each term's postings read once per
index generation and cached), not from scoring every match; snippets come from
``highlight`` rather than Whoosh's re-analysing highlighter; autocomplete is a
``NameIndex`` held in memory per index generation.

Time budget (``base.Deadline``): the deadline is checked between the steps that can be
slow — each word's spelling suggestion, each sub-query of the match sets (a phrase or a
fuzzy term reads postings that are not cached), and while scoring. Scoring runs under
Whoosh's ``TimeLimitCollector`` (https://whoosh.readthedocs.io/en/latest/searching.html,
"Time limited searches"), which raises ``TimeLimit`` once its time is up and keeps the
documents it collected, so the best of the hits scored in time are shown
(``SearchResults.partial``). It runs with ``use_alarm=False``: the alarm mode installs a
SIGALRM handler, which Python allows only in the main thread (``signal.signal`` raises
ValueError in gunicorn's threaded workers and the development server), and the signal
would interrupt whatever the process is doing at that moment; without the alarm a timer
thread sets a flag that the collector checks after each matching document.
"""

import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections import Counter, OrderedDict
from contextlib import contextmanager
from pathlib import Path

from whoosh import columns, fields, index
from whoosh.analysis import CharsetFilter, CompositeAnalyzer, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, _lenfield
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile
from whoosh.matching import CoordMatcher, UnionMatcher
from whoosh.query import And, AndMaybe, FuzzyTerm, Or, Phrase, Prefix, Require, Term
from whoosh.query.compound import DefaultOr
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length

from ..models import SectionKind
from .base import BaseSearchBackend, Deadline, Hit, SearchResults, SearchTooComplex, SearchUnavailable
from .documents import SEARCH_FIELDS, analyse_query, matched_other_name, name_key, required_parts
from .highlight import best_section, snippet, word_pattern
from .language import canonical_spelling, is_english
from .names import NamedArticle, NameIndex

logger = logging.getLogger(__name__)



class CanonicalSpellingFilter(Filter):
    """British and American spellings as one term (``language.canonical_spelling``)."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = canonical_spelling(token.text)
            yield token


# English (Porter) stemming with accent folding and one spelling for British and American
# words: the pieces of Whoosh's StemmingAnalyzer, with the spelling filter before the stop
# words and the stemmer, so queries and the index are cut into the same stems.
_WORDS = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | CanonicalSpellingFilter()
STEMMED = _WORDS | StopFilter() | StemFilter()
PLAIN = _WORDS | StopFilter()
NAME_WORDS = _WORDS  # names word for word: stop words and single letters kept ("vitamin d")
WRITE_TIMEOUT = 60.0
INDEX_MEMORY_MB = 512  # per indexing process, while rebuilding (see rebuild)
OPEN_ATTEMPTS = 5
CACHED_TERMS = 2048
POSITIONAL_FIELDS = {"title", "aka", "summary"}
EXACT_NAME_BOOST = 1000.0  # the query is an article's title or other name: first, whatever else matches
NAME_PHRASE_BOOST = 30.0  # a name contains the query's words in order ("vitamin d" in "Vitamin D Deficiency")
NAME_MENTION_BOOST = 10.0  # per word of a whole name the query mentions ("mri scan" in "how long does an mri scan take")
PREFIX_BOOST = 2.0  # a name word begins with a word cut short ("hyperlipid"): below a whole-word match
TITLE_PREFIX_BOOST = 8.0  # … a title word, more
PROXIMITY_SLOP = 4  # words this close together in a name or the summary earn a bonus
PROXIMITY_MAX_WORDS = 5  # longer queries rarely have their words close together; skip the cost


class LengthsInMemoryCodec(W3Codec):
    """Whoosh's default codec (W3) for writing, whose reader of a segment just written
    keeps each field's document lengths in memory (``LengthsInMemory``).

    Whoosh asks for a document's field length for every posting it writes (the block
    statistics), and W3 reads it from the segment's length column each time (a seek, a
    read and an unpack): 3 million reads, a sixth of the time of writing a 5,000-article
    index. The files are W3's, unchanged, and so is what the segments record: pickled, as
    Whoosh stores it in the table of contents, this codec is plain ``W3Codec``, so any
    Whoosh reads the index (a release rolled back included) and reading it needs nothing
    of this module."""

    def __reduce__(self):
        return W3Codec, (self._blocklimit, self._compression, self._inlinelimit)

    def per_document_reader(self, storage, segment):
        return LengthsInMemory(storage, segment)


class LengthsInMemory(W3PerDocReader):
    """W3's per-document reader with ``doc_field_length`` answered from a list per field
    (its length column read once: ``len(segment)`` small integers), with W3's values:
    ``None`` for a document without the field, ``default`` for a field with no lengths,
    ``IndexError`` past the segment's end."""

    def __init__(self, storage, segment):
        super().__init__(storage, segment)
        self._lengths = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        if docnum > self._doccount:
            raise IndexError(f"Asked for docnum {docnum!r} of {self._doccount}")
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            reader = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            if reader is None:
                return default
            lengths = self._lengths[fieldname] = [byte_to_length(byte) if byte else None for byte in reader.load()]
        return lengths[docnum] if docnum < len(lengths) else None


CODEC = LengthsInMemoryCodec()


class CountedText(fields.TEXT):
    """A text field without positions whose words are counted, then analysed once per
    distinct word, rather than each occurrence streamed through the analyzer.

    Indexing spends most of its time in the analyzer chain (tokenizer, lower case, accents,
    spelling, stop words, stemmer: a generator per step for every word of every article).
    Each of those steps looks at one token alone, so the terms of a text are the terms of
    its distinct tokens, each counted as often as the token occurs: the same postings, the
    same field lengths, a fraction of the work (``make bench``: ``rebuild_index``). Queries
    still go through the analyzer (``process_text``, ``tokenize``), unchanged.
    """

    CACHE_SIZE = 200_000  # distinct tokens remembered per field and process (a corpus holds tens of thousands)

    def __init__(self, **kwargs):
        super().__init__(phrase=False, **kwargs)
        tokenizer = self.analyzer.items[0] if isinstance(self.analyzer, CompositeAnalyzer) else None
        if not isinstance(tokenizer, RegexTokenizer) or tokenizer.gaps:
            raise TypeError("CountedText needs an analyzer that starts with a matching RegexTokenizer")
        self._terms = {}

    def __getstate__(self):  # the schema is pickled into the index: not the cache
        return {**self.__dict__, "_terms": {}}

    def _token_terms(self, token):
        terms = self._terms.get(token)
        if terms is None:
            if len(self._terms) >= self.CACHE_SIZE:
                self._terms.clear()
            terms = self._terms[token] = tuple(t.text for t in self.analyzer(token, mode="index"))
        return terms

    def index(self, value, **kwargs):
        counts = Counter()
        for token, n in Counter(map(re.Match.group, self.analyzer.items[0].expression.finditer(value))).items():
            for term in self._token_terms(token):
                counts[term] += n
        boost = self.format.field_boost
        return [(term.encode("utf-8"), n, n * boost, pack_uint(n)) for term, n in counts.items()]


def build_schema():
    text_fields = {
        field.name: (fields.TEXT(analyzer=STEMMED, field_boost=field.boost, stored=True, phrase=True) if field.name in POSITIONAL_FIELDS
                     else CountedText(analyzer=STEMMED, field_boost=field.boost))
        for field in SEARCH_FIELDS
    }
    return fields.Schema(
        slug=fields.ID(unique=True, stored=True),
        url=fields.STORED(),
        names=fields.STORED(),
        sections=fields.STORED(),
        content_hash=fields.STORED(),
        categories=fields.KEYWORD(commas=True, stored=True),
        kind=fields.ID(stored=True),
        spell=CountedText(analyzer=PLAIN, spelling=True),
        names_exact=fields.KEYWORD(commas=True, lowercase=True),
        name_words=fields.TEXT(analyzer=NAME_WORDS, phrase=True),
        card=fields.COLUMN(columns.PickleColumn(columns.VarBytesColumn())),
        **text_fields,
    )


class WhooshSearchBackend(BaseSearchBackend):
    def __init__(self, path):
        self.path = Path(path)
        self.schema = build_schema()
        self._local = threading.local()
        self._derived_lock = threading.Lock()
        self._derived_state = None

    # -- index location -------------------------------------------------------------

    @property
    def current_link(self):
        return self.path / "current"

    def _live_dir(self):
        try:
            return self.path / os.readlink(self.current_link)
        except OSError:
            return None

    def _open(self, create=False):
        """``(index, live folder)``. Readers get ``_WholeFileStorage``; writers (``create``)
        read the few postings an update needs through the file, without copying the index."""
        storage = _ReadThroughStorage if create else _WholeFileStorage
        for attempt in range(OPEN_ATTEMPTS):
            live = self._live_dir()
            try:
                if live is None or not index.exists_in(live):
                    if not create:
                        raise SearchUnavailable("the search index has not been built")
                    return self._swap_in(self._new_dir(empty=True)), None
                return storage(str(live)).open_index(schema=self.schema), live
            except FileNotFoundError:
                # A writer in another process committed between Whoosh listing the newest
                # table of contents and reading it (a commit deletes the one before): again.
                if attempt == OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))

    def _new_dir(self, empty=False, prefix="index-"):
        self.path.mkdir(parents=True, exist_ok=True)
        folder = self.path / f"{prefix}{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        ix = index.create_in(folder, self.schema)
        return ix if empty else (ix, folder)

    def _swap_in(self, ix):
        folder = Path(ix.storage.folder)
        temporary = self.path / f".current-{uuid.uuid4().hex}"
        os.symlink(folder.name, temporary)
        os.replace(temporary, self.current_link)  # atomic: readers see the old or the new index
        for old in self.path.glob("index-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
        for building in self.path.glob("building-*"):  # left by a build whose process is gone
            pid = building.name.split("-")[1]
            if pid.isdigit() and not _process_exists(int(pid)):
                shutil.rmtree(building, ignore_errors=True)
        return ix

    # -- writing --------------------------------------------------------------------

    def _document_fields(self, document):
        names = [document.title, *document.aka]
        body = "\n".join(text for _, text in document.sections)
        # The spelling field needs each word once, not every occurrence.
        words = dict.fromkeys(re.findall(r"\w+", " ".join([*names, document.summary, body]).casefold()))
        return dict(
            slug=document.slug,
            url=document.url,
            names=names,
            content_hash=document.content_hash,
            categories=",".join(document.categories),
            kind=document.kind,
            title=document.title,
            aka="\n".join(document.aka),
            summary=document.summary,
            spell=" ".join(words),
            names_exact=",".join(name_key(name) for name in names),
            name_words="\n".join(names),
            body=body,
            sections=list(document.sections),
            card=(document.title, document.url, tuple(names)),
        )

    def _write(self, apply):
        for _ in range(5):
            ix, live = self._open(create=True)
            writer = ix.writer(timeout=WRITE_TIMEOUT, codec=CODEC)
            if live is not None and self._live_dir() != live:
                writer.cancel()  # a rebuild swapped the index while we waited for the lock
                continue
            try:
                apply(writer)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            return
        raise RuntimeError("the search index kept being swapped during an update")

    def add_bulk(self, documents):
        def apply(writer):
            for document in documents:
                writer.update_document(**self._document_fields(document))

        self._write(apply)

    def delete(self, slug):
        self._write(lambda writer: writer.delete_by_term("slug", slug))

    def reset_index(self):
        self._swap_in(self._new_dir(empty=True))

    builds_aside = True  # rebuild() may run in a process of its own (conditions.search.signals.IndexBuiltAside)

    def rebuild(self, documents, progress=None, processes=1, before_swap=None):
        """Index ``documents`` afresh in a new folder and swap it in.

        Without ``before_swap`` the live index's lock is held throughout, so updates made
        meanwhile wait and then land in the new index. With it, the index is built in a
        ``building-<pid>-…`` folder without the lock (an import's build runs for as long as
        the import writes), then ``before_swap()`` is asked: true swaps it in under the lock,
        false deletes it. Updates made during such a build went to the old index; the caller
        makes them again (``IndexBuiltAside.finish``)."""
        self.path.mkdir(parents=True, exist_ok=True)
        if before_swap is None:
            with self._live_lock():
                ix, _ = self._new_dir()
                self._write_all(ix, documents, progress, processes)
                self._swap_in(ix)
            return
        ix, folder = self._new_dir(prefix=f"building-{os.getpid()}-")
        try:
            self._write_all(ix, documents, progress, processes)
            swap = before_swap()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if not swap:
            shutil.rmtree(folder, ignore_errors=True)
            return
        with self._live_lock():
            ready = folder.with_name(folder.name.replace("building-", "index-", 1))
            os.rename(folder, ready)  # _swap_in keeps only the folder it swaps in among index-*
            self._swap_in(index.open_dir(str(ready), schema=self.schema))

    @contextmanager
    def _live_lock(self):
        """Hold the live index's write lock (the one ``ix.writer()`` takes), if there is a live
        index; taken again should another rebuild swap a new one in while this one waited."""
        while True:
            live = self._live_dir()
            if live is None or not live.is_dir():
                yield
                return
            # The folder's lock file, without reading the (possibly corrupt) index itself.
            lock = FileStorage(str(live)).lock(f"{index._DEF_INDEX_NAME}_WRITELOCK")
            lock.acquire(blocking=True)
            if self._live_dir() == live:
                break
            lock.release()
        try:
            yield
        finally:
            lock.release()

    def _write_all(self, ix, documents, progress, processes):
        # Postings are sorted in memory up to ``limitmb`` and spilled to pickled runs beyond
        # it; at these sizes the postings of 5,000 articles stay in memory, which saves the
        # third of a build that writing and reading the runs back cost.
        if processes > 1:
            # Whoosh's multiprocessing writer: batches of 100 documents are indexed by
            # forked child processes into segments kept as they are (no final merge).
            writer = ix.writer(procs=processes, limitmb=INDEX_MEMORY_MB, multisegment=True, codec=CODEC)
        else:
            writer = ix.writer(limitmb=INDEX_MEMORY_MB * 2, codec=CODEC)
        for n, document in enumerate(documents, start=1):
            writer.add_document(**self._document_fields(document))
            if progress:
                progress(n)
        writer.commit()

    def ping(self):
        with self._searcher():
            pass

    def indexed_hashes(self):
        with self._searcher() as (searcher, _):
            return {fields_["slug"]: fields_["content_hash"] for fields_ in searcher.all_stored_fields()}

    # -- reading --------------------------------------------------------------------

    def _searcher(self):
        """A per-thread searcher, reopened when the index changed (one directory listing when not).

        Whoosh's own ``refresh()`` misses commits that only delete documents, so the
        index generation is compared here instead.
        """
        local = self._local
        try:
            live = self._live_dir()
            if getattr(local, "searcher", None) is not None and local.live == live:
                if local.ix.latest_generation() == local.generation:
                    return _Borrowed(local.searcher, local.derived, self._forget)
                self._forget(local.searcher)
            local.searcher = None
            local.ix, local.live = self._open()
            local.generation = local.ix.latest_generation()
            local.searcher = local.ix.searcher()
            local.derived = self._derived(local.searcher, (local.live, local.generation))
            return _Borrowed(local.searcher, local.derived, self._forget)
        except SearchUnavailable:
            raise
        except Exception as error:  # a corrupt or half-deleted index
            local.searcher = None
            logger.exception("search index unreadable")
            raise SearchUnavailable(str(error)) from error

    def _forget(self, searcher):
        """Close ``searcher`` and, if it is this thread's, drop it (the next request reopens the index)."""
        local = self._local
        if getattr(local, "searcher", None) is searcher:
            local.searcher = None
        try:
            searcher.close()
        except Exception:  # closing files of a damaged index may fail too; they are released either way
            pass

    def _derived(self, searcher, key):
        """What is computed once per index generation and shared by this process's threads."""
        with self._derived_lock:
            if self._derived_state is None or self._derived_state.key != key:
                self._derived_state = _Derived(key, searcher.reader())
            return self._derived_state

    def _stems(self, word):
        return [token.text for token in STEMMED(word)]

    def _word_query(self, word, fuzzy=False):
        stems = self._stems(word)
        if not stems:
            return None
        terms = [Term(field.name, stem, boost=field.boost) for field in SEARCH_FIELDS for stem in stems]
        if fuzzy:
            terms += [FuzzyTerm("spell", token.text, maxdist=2 if len(word) > 5 else 1, prefixlength=1) for token in PLAIN(word)]
        return Or(terms)

    def _phrase_query(self, phrase):
        stems = self._stems(phrase)
        if not stems:
            return None
        if len(stems) == 1:
            return self._word_query(phrase)
        # Names and summary keep word positions; a section matches when it has every word.
        return Or([
            Phrase(field.name, stems, boost=field.boost)
            if field.name in POSITIONAL_FIELDS
            else And([Term(field.name, stem) for stem in stems], boost=field.boost)
            for field in SEARCH_FIELDS
        ])

    def _part_query(self, part, fuzzy=False):
        """What satisfies one ``QueryPart``: any alternative (the word or phrase, a synonym),
        or a name word it begins; ``None`` for a part of stop words only."""
        alternatives = [
            self._word_query(words[0], fuzzy) if len(words) == 1 else self._phrase_query(" ".join(words))
            for words in part.alternatives
        ]
        if part.prefix:
            # The title's stems begin with what was typed too ("osteopor" → "osteoporosi").
            alternatives += [Prefix("name_words", part.prefix, boost=PREFIX_BOOST), Prefix("title", part.prefix, boost=TITLE_PREFIX_BOOST)]
        alternatives = [q for q in alternatives if q is not None]
        return (Or(alternatives) if len(alternatives) > 1 else alternatives[0]) if alternatives else None

    def _build_query(self, analysed, fuzzy=False, exact=None):
        """``(query, parts)`` for an ``AnalysedQuery``: the query that any part satisfies
        (ranked), and each part's own query (see ``_every``)."""
        parts = [q for q in (self._part_query(part, fuzzy) for part in analysed.parts) if q is not None]
        if not parts:
            return None, None
        # Any part may match, but each extra matching part raises the score (Whoosh's
        # coordination bonus); the articles with every part are counted apart and come first.
        main = _SkippingOr(parts, scale=0.9) if len(parts) > 1 else parts[0]
        exact = name_key(exact) if exact else analysed.exact
        bonuses = [Term("names_exact", exact, boost=EXACT_NAME_BOOST)] if exact else []
        if analysed.name_phrase:
            bonuses.append(Phrase("name_words", [t.text for t in NAME_WORDS(analysed.name_phrase)], boost=NAME_PHRASE_BOOST))
        bonuses += [Term("names_exact", run, boost=NAME_MENTION_BOOST * size) for size, runs in analysed.mentions for run in runs]
        stems = [stem for part in analysed.parts for stem in self._stems(" ".join(part.words))]
        if 1 < len(stems) <= PROXIMITY_MAX_WORDS:
            # Words close together in a name or the summary (BM25F scores each word alone).
            bonuses += [Phrase(name, stems, slop=PROXIMITY_SLOP) for name in sorted(POSITIONAL_FIELDS)]
        ranked = AndMaybe(main, Or(bonuses)) if bonuses else main
        return ranked, parts

    @staticmethod
    def _every(searcher, derived, parts, deadline):
        """The query only an article with every required part satisfies (``documents.required_parts``:
        common words are not required), or ``None`` when any part will do (a single part)."""
        if len(parts) < 2:
            return None
        frequencies = [len(derived.matching(searcher, part, deadline)) for part in parts]
        required = [part for part, needed in zip(parts, required_parts(frequencies, searcher.doc_count())) if needed]
        return And(required) if len(required) > 1 else required[0]

    def _tiers(self, searcher, derived, q, every, category, kind, deadline):
        """``(matching, complete, category_counts, kind_counts)``: the document numbers ``q``
        matches in the category and kind, those of them with every part, and the facets."""
        matching = derived.matching(searcher, q, deadline)
        in_category = matching & derived.categories.get(category, frozenset()) if category else matching
        of_kind = matching & derived.kinds.get(kind, frozenset()) if kind else matching
        category_counts = {slug: count for slug, docs in derived.categories.items() if (count := len(of_kind & docs))}
        kind_counts = {name: count for name, docs in derived.kinds.items() if (count := len(in_category & docs))}
        matching = in_category & of_kind
        complete = matching & derived.matching(searcher, every, deadline) if every is not None else matching
        return matching, complete, category_counts, kind_counts

    def search(self, query, *, category=None, kind=None, budget=None):
        deadline = Deadline(budget)
        analysed = analyse_query(query)
        q, parts = self._build_query(analysed)
        if q is None:
            return SearchResults(query)
        suggestion = self._spelling(query, deadline)
        fuzzy = False
        words = list(analysed.highlight)
        with self._searcher() as (searcher, derived):
            every = self._every(searcher, derived, parts, deadline)
            matching, complete, category_counts, kind_counts = self._tiers(searcher, derived, q, every, category, kind, deadline)
            if not complete and suggestion:
                # No article has every word, and a word looks misspelt: search the corrected
                # words, ranked as if typed so (the correction's best article first).
                corrected = analyse_query(suggestion)
                q2, parts2 = self._build_query(corrected)
                found = None
                if q2 is not None:
                    every2 = self._every(searcher, derived, parts2, deadline)
                    found = self._tiers(searcher, derived, q2, every2, category, kind, deadline)
                if found and found[1]:
                    q, every, fuzzy = q2, every2, True
                    matching, complete, category_counts, kind_counts = found
                    words += corrected.highlight
            if not matching:
                # Typo-tolerant retry: each word may also match close spellings.
                q, parts = self._build_query(analysed, fuzzy=True, exact=suggestion)
                every = self._every(searcher, derived, parts, deadline)
                matching, complete, category_counts, kind_counts = self._tiers(searcher, derived, q, every, category, kind, deadline)
                fuzzy = bool(matching)
                words += suggestion.split() if fuzzy else []
        partial_only = matching - complete
        stems = {stem for word in words for stem in self._stems(word)}
        pattern = word_pattern([*words, *stems])

        partial_q = _without_phrase_bonuses(q)

        def fetch(start, stop):
            # Articles with every word first, then those with some; each tier scored only
            # as far as the slice asked for.
            hits, partial = [], False
            with self._searcher() as (searcher, current):
                tiers = [(complete, True), (partial_only, False)]
                if current is not derived:  # the index changed since the count: recount from scratch
                    now, every_now, _, _ = self._tiers(searcher, current, q, every, category, kind, deadline)
                    tiers = [(every_now, True), (now - every_now, False)]
                offset = 0
                for docs, whole in tiers:
                    low, high = max(0, start - offset), min(len(docs), stop - offset)
                    offset += len(docs)
                    if low >= high:
                        continue
                    # The complete tier matches through ``every`` (an intersection, which skips
                    # most documents) and is scored by ``q`` alone, so its ranking is the same.
                    tier_q = Require(_skipping(q), _skipping(every)) if whole and every is not None else q if whole else partial_q
                    found, timed_out = self._top(searcher, tier_q, high, docs, deadline)
                    if timed_out and found.scored_length() <= low and not hits:
                        raise SearchTooComplex  # out of time before anything of this slice was scored
                    hits += [self._hit(hit.fields(), stems, pattern, complete=whole) for hit in found[low:high]]
                    partial = partial or timed_out
            return hits, partial

        return SearchResults(
            query, total=len(matching), complete=len(complete), fetch=fetch, category_counts=category_counts, kind_counts=kind_counts,
            suggestion=suggestion, fuzzy=fuzzy,
        )

    @staticmethod
    def _top(searcher, q, limit, allowed, deadline):
        """The ``limit`` best hits among the ``allowed`` document numbers (``None``: all), and
        whether time ran out first (then: the best of those scored in time)."""
        deadline.check()
        # Whoosh's block-quality skipping trips an assertion inside Require's matcher.
        collector = _TimeLimitedTop(searcher.collector(limit=limit, optimize=not isinstance(q, Require)), deadline.remaining(), allowed)
        try:
            searcher.search_with_collector(q, collector)
        except TimeLimit:
            return collector.results(), True
        return collector.results(), False

    def _hit(self, stored, stems, pattern, complete=True):
        kind, text = (best_section(stored["sections"], pattern) if pattern else None) or ("", "")
        matched_name = matched_other_name(stored["title"], stored["names"][1:], stems, self._stems)
        return Hit(
            slug=stored["slug"],
            title=stored["title"],
            url=stored["url"],
            summary=stored["summary"],
            kind=stored.get("kind", ""),
            complete=complete,
            matched_name=matched_name,
            section=kind,
            section_label=str(SectionKind(kind).label) if kind else "",
            snippet=snippet(text, pattern) if kind else "",
        )

    def spelling(self, query):
        return self._spelling(query, Deadline())

    def _spelling(self, query, deadline):
        """The corrected query, or '' (also when the budget runs out: no suggestion then)."""
        words = analyse_query(query).words
        if not words:
            return ""
        changed, corrected = False, []
        with self._searcher() as (searcher, _):
            reader = searcher.reader()
            for word in words:
                if deadline.remaining() <= 0:
                    return ""
                tokens = [token.text for token in PLAIN(word)]
                known = not tokens or word.isdigit() or is_english(word) or all(reader.doc_frequency("spell", token) for token in tokens)
                if known:  # an English word or one our articles use: never "corrected"
                    corrected.append(word)
                    continue
                suggestions = searcher.suggest("spell", tokens[0], limit=1, maxdist=2 if len(tokens[0]) > 4 else 1, prefix=1)
                if suggestions:
                    corrected.append(suggestions[0])
                    changed = True
                else:
                    corrected.append(word)
        return " ".join(corrected) if changed else ""

    def autocomplete(self, prefix, *, limit=8):
        with self._searcher() as (_, derived):
            return derived.names.complete(prefix[:200], limit=limit)


def _without_phrase_bonuses(q):
    """``q`` without its phrase bonuses (the query's words in order in a name, or close
    together), for ranking the articles that lack some of the words: a phrase of all the
    words never matches them, so their scores are the same, and the costliest matchers
    are skipped."""
    if not isinstance(q, AndMaybe) or not isinstance(q.b, Or):
        return q
    bonuses = [sub for sub in q.b.subqueries if not isinstance(sub, Phrase)]
    return AndMaybe(q.a, Or(bonuses)) if bonuses else q.a


def _skipping(q):
    """``q`` with each ``Or`` matched by a tree of union matchers, which skip ahead to the
    next document asked for, instead of Whoosh's default at up to 5,000 documents: arrays
    of every match read in advance, faster when every match is scored but slow when an
    intersection (``Require``) asks for a few."""
    if isinstance(q, Or):
        return _SkippingOr([_skipping(sub) for sub in q.subqueries], boost=q.boost, minmatch=q.minmatch, scale=q.scale)
    return q.apply(_skipping)


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


class _SkippingOr(DefaultOr):
    """Whoosh's ``DefaultOr`` (a tree of union matchers, which Whoosh also uses for any
    ``Or`` with ``scale``) whose coordination bonus keeps counting the query's terms when
    the collector prunes exhausted branches of the tree: Whoosh's ``CoordMatcher`` recounts
    them on every replacement, so a document's score would depend on how far down the
    results the collector had got. The query's ``Or`` of parts is one of these."""

    def _matcher(self, subs, searcher, context):
        reader = searcher.reader()
        m = self._tree_matcher(subs, UnionMatcher, searcher, context, lambda q: q.estimate_size(reader))
        if self.scale and any(m.term_matchers()):
            m = _SteadyCoordMatcher(m, scale=self.scale)
        return m


class _SteadyCoordMatcher(CoordMatcher):
    def __init__(self, child, scale=1.0, termcount=None):
        super().__init__(child, scale=scale)
        if termcount is not None:
            self._termcount = termcount

    def _replacement(self, newchild):
        return self.__class__(newchild, scale=self._scale, termcount=self._termcount)


class _Derived:
    """Per index generation: category → document numbers, term → document numbers, names.

    Result counts and category counts are set operations on these, so only the page of
    results shown is ever scored.
    """

    def __init__(self, key, reader):
        self.key = key
        self.categories = {
            category.decode() if isinstance(category, bytes) else category: frozenset(reader.postings("categories", category).all_ids())
            for category in reader.lexicon("categories")
        }
        self.kinds = {
            kind.decode() if isinstance(kind, bytes) else kind: frozenset(reader.postings("kind", kind).all_ids())
            for kind in (reader.lexicon("kind") if "kind" in reader.indexed_field_names() else ())
        }
        cards = reader.column_reader("card")
        live = set(reader.all_doc_ids())
        self.names = NameIndex(NamedArticle(*cards[n]) for n in sorted(live) if cards[n])
        self._terms = OrderedDict()
        self._lock = threading.Lock()

    def _term_docs(self, searcher, fieldname, text):
        key = (fieldname, text)
        with self._lock:
            if key in self._terms:
                self._terms.move_to_end(key)
                return self._terms[key]
        reader = searcher.reader()
        docs = frozenset(reader.postings(fieldname, text).all_ids()) if (fieldname, text) in reader else frozenset()
        with self._lock:
            self._terms[key] = docs
            if len(self._terms) > CACHED_TERMS:
                self._terms.popitem(last=False)
        return docs

    def matching(self, searcher, q, deadline):
        """The set of document numbers ``q`` matches, without scoring (``SearchTooComplex``
        when the deadline passes first)."""
        deadline.check()
        if isinstance(q, AndMaybe):
            return self.matching(searcher, q.a, deadline)
        if isinstance(q, Or):
            return frozenset().union(*(self.matching(searcher, sub, deadline) for sub in q.subqueries))
        if isinstance(q, And):
            return frozenset.intersection(*(self.matching(searcher, sub, deadline) for sub in q.subqueries))
        if isinstance(q, Term):
            return self._term_docs(searcher, q.fieldname, q.text)
        # A phrase, a word beginning or a fuzzy term: read once, then kept with the terms
        # (a search asks for each part up to three times: alone, in "any" and in "every").
        key = ("query", q)
        with self._lock:
            if key in self._terms:
                self._terms.move_to_end(key)
                return self._terms[key]
        docs = frozenset(searcher.docs_for_query(q))
        with self._lock:
            self._terms[key] = docs
            if len(self._terms) > CACHED_TERMS:
                self._terms.popitem(last=False)
        return docs


class _TimeLimitedTop(TimeLimitCollector):
    """Whoosh's ``TimeLimitCollector`` (no alarm, see the module docstring) that also keeps
    only allowed document numbers. Whoosh's ``FilterCollector`` and ``TimeLimitCollector``
    each do their work in ``collect_matches``, so wrapping one in the other silently
    drops the inner one's check; this does both in one loop."""

    def __init__(self, child, timelimit, allowed=None):
        super().__init__(child, timelimit, use_alarm=False)
        self.allowed = allowed

    def collect_matches(self):
        child, allowed = self.child, self.allowed
        for sub_docnum in child.matches():
            if self.timedout:
                raise TimeLimit
            if allowed is None or child.offset + sub_docnum in allowed:
                child.collect(sub_docnum)


class _WholeFileStorage(FileStorage):
    """A Whoosh folder whose files are read whole into memory when opened, never memory-mapped.

    Whoosh maps a segment file into memory by default; if the file is then cut short under
    a running server (a full disk, a botched copy), the next read of a page past its new
    end kills the process with SIGBUS, which Python cannot catch: the request is dropped.
    Read into ``bytes`` instead, a damaged file is only short, and reading it raises an
    ordinary exception that becomes the friendly 503 (``_Borrowed``). Reading through the
    file instead (``supports_mmap=False``) is just as safe but makes a system call per
    read: 28 % slower searches on the benchmark corpus; a whole read costs the time of one
    sequential read per segment when a searcher opens (each index change) and keeps the
    segment's bytes in the worker's memory (34 MB for the 5,000-article corpus), where
    mapped pages would have been shared between workers.
    """

    def __init__(self, path):
        super().__init__(path, supports_mmap=False)

    def open_file(self, name, **kwargs):
        with open(self._fpath(name), "rb") as file:
            return BufferFile(file.read(), name=name, **kwargs)


class _ReadThroughStorage(FileStorage):
    """A Whoosh folder read through the file, never memory-mapped (see ``_WholeFileStorage``): for writers."""

    def __init__(self, path):
        super().__init__(path, supports_mmap=False)


class _Borrowed:
    """``with`` support for the cached per-thread searcher (kept open between requests).

    An error while reading (a segment file cut short or overwritten under the server: a
    ``struct.error``, ``EOFError``, ``OSError``, …) leaves this thread's searcher behind,
    so the next request reopens the index, and is raised as ``SearchUnavailable`` (the
    friendly 503). The query's own outcomes (``SearchTooComplex``, ``TimeLimit``) pass.
    """

    PASSING = (SearchUnavailable, SearchTooComplex, TimeLimit)

    def __init__(self, searcher, derived, forget=None):
        self.searcher = searcher
        self.derived = derived
        self.forget = forget

    def __enter__(self):
        return self.searcher, self.derived

    def __exit__(self, exc_type, error, traceback):
        if error is None or not isinstance(error, Exception) or isinstance(error, self.PASSING):
            return False
        if self.forget is not None:
            self.forget(self.searcher)
        logger.exception("search index unreadable", exc_info=error)
        raise SearchUnavailable(str(error) or type(error).__name__) from error


SearchBackend = WhooshSearchBackend
