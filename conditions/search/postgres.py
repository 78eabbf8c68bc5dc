"""PostgreSQL backend: search in the database every web server already shares.

For several web servers behind a load balancer: the index is a table (``SearchEntry``)
whose weighted search vectors the database keeps itself (``GeneratedField`` columns of
``SearchVector`` expressions, under a ``GinIndex``), so a save on one server is found by
every server as soon as it commits, and a rebuild is one transaction (readers see the old
rows until it commits).

Everything goes through Django's full-text search API
(https://docs.djangoproject.com/en/stable/ref/contrib/postgres/search/). A query is
analysed once for both backends (``documents.analyse_query``: canonical spelling,
synonyms, word beginnings); each part's alternatives are ``SearchQuery(search_type=
"websearch")`` objects OR-ed together (a quoted phrase stays a phrase; nothing the user
types is operator syntax), and a word beginning is a prefix search (``word:*``) in
``names_vector``. An article with every required part (``documents.required_parts``:
common words are not required) comes first. The rank is BM25-like: each part's
``SearchRank`` (the weights ``documents.postgres_weights`` derives from the declared
boosts, normalised by document length) times the part's inverse document frequency, so
a rare word outweighs "pain"; plus ``ts_rank_cd`` of every word together (cover density:
the closer the words, the higher), and bonuses when the query *is* a name, mentions a
whole name, or a name contains the query's words in order. Snippets come from
``highlight``, as Whoosh's do: the best-matching section with the query's words and
stems marked (one highlighter for both backends, and no statement for it).
``TrigramSimilarity`` and the ``trigram_similar`` lookup (pg_trgm) find did-you-mean
candidates in ``SearchWord``, the unstemmed vocabulary, and rapidfuzz's
Damerau–Levenshtein distance picks the one the fewest typing slips away; autocomplete
narrows its candidates with a regular expression the trigram index serves. Python-side
stems (which other name matched, which section to quote) come from ``snowballstemmer``,
the Snowball English stemmer PostgreSQL's ``english`` configuration runs, so they agree
with the index; Whoosh is never imported.

Counting and splitting the tiers use the GIN indexes only; the text vectors are read to
rank the rows of a page. A tier of more than ``FULL_RANK_LIMIT`` articles with every
word, or ``PARTIAL_RANK_LIMIT`` with some (common words in a large library), is ranked in
two passes: first by the small names-and-summary vector (``head_vector``), then fully
for the best of those only.

Paging: ``search`` counts the matches and the matches per category; the hits of a slice
(``SearchResults[start:stop]``, as Django's ``Paginator`` asks) are ranked and fetched
when asked for, with ``LIMIT``/``OFFSET``.

Time budget (``base.Deadline``): the statements of one search run in a transaction
whose ``statement_timeout`` is set (``set_config(..., is_local => true)``, i.e. ``SET
LOCAL``) to the time left before each statement, so the database itself cancels a
statement that would overrun ("Abort any statement that takes more than the specified
amount of time", https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT)
and frees the connection and the worker. The cancel arrives as SQLSTATE 57014
(``psycopg.errors.QueryCanceled``, raised by Django as ``OperationalError``) and becomes
``SearchTooComplex``; PostgreSQL answers all or nothing, so there are no partial results.
``SET LOCAL`` lasts until the outermost transaction ends, so the previous value is put
back when a caller's transaction goes on (as in the tests).
"""

import logging
import math
import re
import threading
import time
from collections import Counter
from contextlib import contextmanager
from functools import lru_cache, reduce
from operator import add, and_, or_

import snowballstemmer
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, Count, F, Q, Value, When
from psycopg.errors import QueryCanceled
from rapidfuzz.distance import DamerauLevenshtein

from ..models import SectionKind
from .base import BaseSearchBackend, Deadline, Hit, SearchResults, SearchTooComplex, SearchUnavailable
from .documents import analyse_query, fold, matched_other_name, name_key, normalize_name, required_parts
from .highlight import best_section, snippet, word_pattern
from .language import canonical_text, is_english
from .models import CONFIG, NAMES_CONFIG, RANK_WEIGHTS, SearchEntry, SearchWord
from .names import NamedArticle, NameIndex

logger = logging.getLogger(__name__)

WORD_RE = re.compile(r"[a-z0-9]{1,40}")  # single letters too: they tell stop words ("t") from kept ones ("d")
AUTOCOMPLETE_CANDIDATES = 300
SPELLING_CANDIDATES = 10  # closest indexed words by trigrams, of which the fewest edits away wins
FULL_RANK_LIMIT = 1000  # broad queries: fully rank only the best this many
PARTIAL_RANK_LIMIT = 200  # … of the articles with only some of the words (a page of lesser matches)
EXACT_NAME_BONUS = 1000.0  # the query is an article's title or other name: first, whatever else matches
NAME_PHRASE_BONUS = 3.0  # a name contains the query's words in order ("vitamin d" in "Vitamin D Deficiency")
NAME_MENTION_BONUS = 1.0  # per word of a whole name the query mentions ("mri scan" in "how long does an mri scan take")
PREFIX_BONUS = 0.05  # a name word begins with a word cut short ("hyperlipid"): below a whole-word match
TITLE_PREFIX_BONUS = 0.3  # … a title word, more
PROXIMITY_WEIGHT = 0.5  # ts_rank_cd of every word together: words close together rank higher
PROXIMITY_MAX_WORDS = 5
WEIGHED_PARTS = 6  # parts ranked one by one with their own weight (IDF); more are ranked together
RANK_NORMALIZATION = 1  # ts_rank divides by 1 + log(document length): long articles don't win by length
DOCUMENT_FREQUENCY_SECONDS = 300  # how long a word's document count is reused (it only weighs words)
HIT_FIELDS = ("pk", "slug", "kind", "url", "title", "names", "summary", "sections")


@lru_cache(maxsize=50_000)
def _stem(word):
    # A stemmer object keeps state between calls, so each call makes its own (threads);
    # with PyStemmer installed (the same Snowball algorithms in C) snowballstemmer uses it.
    return snowballstemmer.stemmer("english").stemWord(word)


def stems(text):
    """The Snowball English stems of ``text``'s words, accents folded (``["fractur", "bone"]``)."""
    return [_stem(word) for word in re.findall(r"\w+", fold(text).casefold())]


def _folded(text):
    return canonical_text(fold(text))


def _entry_fields(document):
    names = [document.title, *document.aka]
    body = "\n".join(text for _, text in document.sections)
    return dict(
        url=document.url,
        title=document.title,
        names=names,
        summary=document.summary,
        sections=[list(section) for section in document.sections],
        categories=list(document.categories),
        kind=document.kind,
        content_hash=document.content_hash,
        folded_title=_folded(document.title),
        folded_aka=_folded("\n".join(document.aka)),
        folded_summary=_folded(document.summary),
        folded_body=_folded(body),
        names_exact="|" + "|".join(name_key(name) for name in names) + "|",
        names_text="\n".join(normalize_name(name) for name in names),
    )


def _words(documents):
    words = set()
    for document in documents:
        text = " ".join([document.title, *document.aka, document.summary, *(t for _, t in document.sections)])
        words.update(WORD_RE.findall(_folded(text)))
    return words


class PostgresSearchBackend(BaseSearchBackend):
    def __init__(self, **options):
        pass  # everything lives in the database; options such as ``path`` do not apply

    # -- writing --------------------------------------------------------------------

    def add_bulk(self, documents):
        documents = list(documents)
        _frequencies.clear()
        with transaction.atomic():
            for document in documents:
                SearchEntry.objects.update_or_create(slug=document.slug, defaults=_entry_fields(document))
            self._add_words(documents)

    def _add_words(self, documents):
        SearchWord.objects.bulk_create([SearchWord(word=w) for w in sorted(_words(documents))], ignore_conflicts=True, batch_size=2000)

    def delete(self, slug):
        _frequencies.clear()
        SearchEntry.objects.filter(slug=slug).delete()

    def reset_index(self):
        with transaction.atomic():
            SearchEntry.objects.all().delete()
            SearchWord.objects.all().delete()

    def rebuild(self, documents, progress=None, processes=1):
        _frequencies.clear()
        with transaction.atomic():
            SearchEntry.objects.all().delete()
            SearchWord.objects.all().delete()
            batch = []
            for n, document in enumerate(documents, start=1):
                batch.append(document)
                if len(batch) == 500:
                    self._insert(batch)
                    batch = []
                if progress:
                    progress(n)
            self._insert(batch)
        self._analyze()

    @staticmethod
    def _analyze():
        """Fresh planner statistics and a clean table after a rebuild replaced every row ("run
        ANALYZE after loading large amounts of data", and VACUUM to clear the old rows and set
        the visibility map, so counts need not visit the table:
        https://www.postgresql.org/docs/current/populate.html#POPULATE-ANALYZE). Inside a
        caller's transaction (tests) only ANALYZE can run. Django has no API for either, so
        these are statements written by hand, as is the time budget's ``set_config``."""
        command = "ANALYZE %s" if connection.in_atomic_block else "VACUUM (ANALYZE) %s"
        with connection.cursor() as cursor:
            for model in (SearchEntry, SearchWord):
                cursor.execute(command % connection.ops.quote_name(model._meta.db_table))

    def _insert(self, documents):
        SearchEntry.objects.bulk_create([SearchEntry(slug=d.slug, **_entry_fields(d)) for d in documents])
        self._add_words(documents)

    def ping(self):
        self._guard(lambda: SearchEntry.objects.exists())

    def indexed_hashes(self):
        return self._guard(lambda: dict(SearchEntry.objects.values_list("slug", "content_hash")))

    # -- reading --------------------------------------------------------------------

    def _guard(self, function):
        try:
            with transaction.atomic():  # a failed statement must not poison the caller's transaction
                return function()
        except DatabaseError as error:
            logger.exception("PostgreSQL search failed")
            raise SearchUnavailable(str(error)) from error

    @contextmanager
    def _budgeted(self, deadline):
        """A transaction for one search's statements, each capped by ``_time_left``; a
        cancelled statement becomes ``SearchTooComplex``, any other failure ``SearchUnavailable``.

        The transaction also turns sequential scans off (``SET LOCAL enable_seqscan``): every
        statement of a search starts from a GIN index, but the planner does not count the cost
        of decompressing each row's text vector for ``@@`` in a sequential scan, so for a
        query that matches a good share of the rows it would read every row's vector (10×
        slower at 5,000 articles) rather than the index. Inside a caller's transaction the
        caller's settings are put back after."""
        try:
            outermost = not connection.in_atomic_block
            with transaction.atomic(), connection.cursor() as cursor:
                if outermost:  # SET LOCAL ends with the transaction: nothing to put back
                    cursor.execute("SELECT set_config('enable_seqscan', 'off', true)")
                    yield
                    return
                cursor.execute(
                    "SELECT current_setting('statement_timeout'), current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
                )
                timeout, seqscan, _ = cursor.fetchone()
                yield
                cursor.execute("SELECT set_config('statement_timeout', %s, true), set_config('enable_seqscan', %s, true)", [timeout, seqscan])
        except DatabaseError as error:
            if isinstance(error.__cause__, QueryCanceled):
                raise SearchTooComplex from error
            logger.exception("PostgreSQL search failed")
            raise SearchUnavailable(str(error)) from error

    @staticmethod
    def _time_left(cursor, deadline):
        """Let the next statement run only for the time left (``SearchTooComplex`` when none is)."""
        deadline.check()
        milliseconds = max(1, int(deadline.remaining() * 1000))  # 0 would mean no limit at all
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{milliseconds}ms"])

    def search(self, query, *, category=None, kind=None, budget=None):
        deadline = Deadline(budget)
        analysed = analyse_query(query)
        if not analysed.parts:
            return SearchResults(query)
        with self._budgeted(deadline), connection.cursor() as cursor:
            self._time_left(cursor, deadline)
            indexed = self._indexed(analysed)
            suggestion = self._corrected(analysed.words, indexed)
            results = self._search(query, analysed, category, kind, deadline, cursor)
            if not results.complete and suggestion:
                # No article has every word, and a word looks misspelt: search the corrected
                # words, ranked as if typed so (the correction's best article first).
                corrected = analyse_query(suggestion)
                retry = self._search(query, corrected, category, kind, deadline, cursor)
                if retry.complete:
                    results, retry.fuzzy = retry, True
        results.suggestion = suggestion
        return results

    def _search(self, query, analysed, category, kind, deadline, cursor):
        """``SearchResults`` for an ``AnalysedQuery``, counted now and ranked when sliced."""
        parts = [(self._tsquery(part), self._prefix(part)) for part in analysed.parts]
        frequencies, entries = self._frequencies(analysed.parts, parts, deadline, cursor)
        # A part of stop words only is an empty tsquery: it neither matches nor counts.
        kept = [i for i, n in enumerate(frequencies) if n is not None] or [0]
        query_parts = [analysed.parts[i] for i in kept]
        parts, frequencies = [parts[i] for i in kept], [frequencies[i] or 0 for i in kept]
        tsquery = reduce(or_, (ts for ts, _ in parts))
        matches = SearchEntry.objects.filter(reduce(or_, [Q(vector=tsquery), *(prefix for _, prefix in parts if prefix)]))
        # Articles with every required part come first, ranked among themselves; then those with some.
        every, every_ts = None, None
        if len(parts) > 1:
            required = [part for part, needed in zip(parts, required_parts(frequencies, entries)) if needed]
            plain = [ts for ts, prefix in required if not prefix]
            every_ts = reduce(and_, plain) if plain else None
            conditions = [Q(vector=every_ts)] if every_ts is not None else []
            conditions += [Q(vector=ts) | prefix for ts, prefix in required if prefix]
            every = reduce(and_, conditions) if conditions else None
        # Every condition here is served by a GIN index: no row's text vector is read to
        # count or to split the tiers (only to rank the rows of a page).
        self._time_left(cursor, deadline)
        total, category_counts, kind_counts = self._counts(matches, category, kind)
        if category:
            matches = matches.filter(categories__contains=[category])
        if kind:
            matches = matches.filter(kind=kind)
        complete = total
        if every is not None:
            self._time_left(cursor, deadline)
            complete = matches.filter(every).count()
        exact, bonus = self._name_bonus(analysed)
        # Each part weighs by how rare it is (inverse document frequency, as BM25 weighs
        # words), so a common word ("pain") does not outweigh a distinctive one. Past
        # WEIGHED_PARTS parts (a pasted sentence) one rank of them all is close enough, at a
        # fraction of the cost: each rank reads the row's whole text vector.
        if len(parts) <= WEIGHED_PARTS:
            rank = reduce(add, (
                Value(weight) * SearchRank(F("vector"), ts, weights=RANK_WEIGHTS, normalization=RANK_NORMALIZATION)
                for (ts, _), weight in zip(parts, _idf(frequencies, entries))
            ))
        else:
            rank = SearchRank(F("vector"), tsquery, weights=RANK_WEIGHTS, normalization=RANK_NORMALIZATION)
        for part, (_, prefix) in zip(query_parts, parts):
            if prefix is not None:
                title = Q(names_vector=SearchQuery(f"{part.prefix}:*A", config=NAMES_CONFIG, search_type="raw"))
                rank = rank + Case(When(title, then=Value(TITLE_PREFIX_BONUS)), When(prefix, then=Value(PREFIX_BONUS)), default=Value(0.0))
        rank = rank + bonus
        tiers = [(matches, total, True, rank, FULL_RANK_LIMIT)]
        if every is not None:
            # Cover density of every word together (the closer, the higher): only the
            # articles with every word have a cover.
            closeness = rank
            if every_ts is not None and len(parts) <= PROXIMITY_MAX_WORDS:
                closeness = rank + Value(PROXIMITY_WEIGHT) * SearchRank(F("vector"), every_ts, weights=RANK_WEIGHTS, cover_density=True)
            with_every = SearchEntry.objects.filter(every).values("pk")
            tiers = [
                (matches.filter(every), complete, True, closeness, FULL_RANK_LIMIT),
                (matches.exclude(pk__in=with_every), total - complete, False, rank, PARTIAL_RANK_LIMIT),
            ]
        query_stems = {stem for word in analysed.highlight for stem in stems(word)}
        pattern = word_pattern([*analysed.highlight, *query_stems])

        def fetch(start, stop):
            # The articles with every word, then those with some; each tier ranked only as
            # far as the slice asks.
            rows, offset = [], 0
            with self._budgeted(deadline), connection.cursor() as cursor:
                for entries_, count, is_complete, tier_rank, limit in tiers:
                    low, high = max(0, start - offset), min(count, stop - offset)
                    offset += count
                    if low < high:
                        self._time_left(cursor, deadline)
                        ranked = self._ranked(entries_, count, tier_rank, tsquery, exact, low, high, limit)
                        rows += [(row, is_complete) for row in ranked]
            hits = []
            for row, is_complete in rows:
                kind, text = (best_section(row["sections"], pattern) if pattern else None) or ("", "")
                hits.append(Hit(
                    slug=row["slug"], kind=row["kind"], title=row["title"], url=row["url"], summary=row["summary"],
                    matched_name=matched_other_name(row["title"], row["names"][1:], query_stems, stems),
                    section=kind, section_label=str(SectionKind(kind).label) if kind else "", complete=is_complete,
                    snippet=snippet(text, pattern) if kind else "",
                ))
            return hits, False

        return SearchResults(query, total=total, complete=complete, fetch=fetch, category_counts=category_counts, kind_counts=kind_counts)

    @staticmethod
    def _ranked(entries, count, rank, tsquery, exact, low, high, limit):
        """Rows ``low`` to ``high`` of ``entries`` (``count`` of them) by ``rank``. A broad tier
        (more than ``limit``) is ranked in two passes: by names and summary (``head_vector``,
        small) and the exact-name bonus first, then fully for the best ``limit`` only, since
        the full rank reads each article's whole text vector."""
        if count > limit and high <= limit:
            head_rank = SearchRank(F("head_vector"), tsquery, weights=RANK_WEIGHTS) + exact
            best = entries.annotate(head_rank=head_rank).order_by("-head_rank", "pk").values("pk")[:limit]
            entries = SearchEntry.objects.filter(pk__in=best)
        return list(entries.annotate(rank=rank).order_by("-rank", "title").values(*HIT_FIELDS)[low:high])

    @staticmethod
    def _name_bonus(analysed):
        """``(exact, all)``: the rank an article earns by its names, when the query is one
        (``EXACT_NAME_BONUS``), and in all: also when one contains the query's words in order,
        or the query mentions whole names."""
        bonus = exact = Value(0.0)
        if analysed.exact:
            bonus = exact = Case(When(names_exact__contains=f"|{analysed.exact}|", then=Value(EXACT_NAME_BONUS)), default=bonus)
        if analysed.name_phrase:
            pattern = r"[| ]%s[| ]" % re.escape(analysed.name_phrase)
            bonus = bonus + Case(When(names_exact__regex=pattern, then=Value(NAME_PHRASE_BONUS)), default=Value(0.0))
        for size, runs in analysed.mentions:
            pattern = r"\|(%s)\|" % "|".join(map(re.escape, runs))
            bonus = bonus + Case(When(names_exact__regex=pattern, then=Value(NAME_MENTION_BONUS * size)), default=Value(0.0))
        return exact, bonus

    @staticmethod
    def _tsquery(part):
        """A ``QueryPart``'s alternatives as one tsquery (OR): each a word or a phrase."""
        return reduce(or_, (
            SearchQuery(words[0] if len(words) == 1 else '"%s"' % " ".join(words), config=CONFIG, search_type="websearch")
            for words in part.alternatives
        ))

    @staticmethod
    def _prefix(part):
        """A ``QueryPart``'s word-beginning match on the names (``names_vector``, prefix
        search under its GIN index), or None. ``part.prefix`` is letters only."""
        return Q(names_vector=SearchQuery(f"{part.prefix}:*", config=NAMES_CONFIG, search_type="raw")) if part.prefix else None

    def _frequencies(self, query_parts, parts, deadline, cursor):
        """``([n, …], N)``: how many of the N entries match each part (its alternatives or its
        word beginning), ``None`` for a part of stop words only (no match, yet its words are
        in the articles' text: PostgreSQL's ``english`` configuration drops them). Counts are
        reused for ``DOCUMENT_FREQUENCY_SECONDS`` in this process (and forgotten when this
        process writes the index): they weigh words and tell common ones, so an edit
        elsewhere shifts them only slightly."""
        if len(parts) == 1:
            return [0], 0  # one part: nothing to weigh or require
        keys = [*((part.alternatives, part.prefix if prefix is not None else "") for part, (_, prefix) in zip(query_parts, parts)), ()]
        counts = [_frequencies.get(key) for key in keys]
        missing = [i for i, n in enumerate(counts) if n is None]
        if missing:
            # The missing counts in one statement (UNION ALL of one count each, GIN served).
            selects = []
            for i in missing:
                entries = SearchEntry.objects.all()
                if i < len(parts):
                    ts, prefix = parts[i]
                    if any(len(words) > 1 for words in keys[i][0]):
                        # A phrase's count would recheck every candidate's positions: the
                        # articles with all its words are close enough to weigh it.
                        ts = reduce(or_, (SearchQuery(" ".join(words), config=CONFIG, search_type="plain") for words in keys[i][0]))
                    entries = entries.filter(Q(vector=ts) | prefix if prefix is not None else Q(vector=ts))
                selects.append(entries.annotate(part=Value(i)).values("part").annotate(n=Count("pk")).values_list("part", "n").order_by())
            self._time_left(cursor, deadline)
            found = dict(selects[0].union(*selects[1:], all=True).order_by() if len(selects) > 1 else selects[0])
            for i in missing:
                counts[i] = found.get(i, 0)
                _frequencies.put(keys[i], counts[i])
        total = counts.pop()
        # A part that matches nothing, though its words are in the articles' text, is made of
        # stop words (PostgreSQL's english configuration drops them): it does not count.
        unmatched = {w for i, n in enumerate(counts) if not n for alternative in query_parts[i].alternatives for w in alternative}
        unmatched -= _stop_words
        if unmatched:
            self._time_left(cursor, deadline)
            in_text = set(SearchWord.objects.filter(word__in=list(unmatched)).values_list("word", flat=True))
            _stop_words.update(in_text)  # (in the text, yet in no vector)
        for i, n in enumerate(counts):
            if not n and all(w in _stop_words for alternative in query_parts[i].alternatives for w in alternative):
                counts[i] = None
        return counts, total

    @staticmethod
    def _counts(matches, category, kind):
        """``(total, {category slug: n}, {kind: n})`` in one query: the total under both
        filters, each facet's counts under the other facet's filter. The database groups the
        matches by (kind, categories), a few dozen groups however broad the query, and
        Python adds the groups up by facet."""
        total = 0
        category_counts, kind_counts = Counter(), Counter()
        for group in matches.order_by().values("kind", "categories").annotate(n=Count("pk")):
            in_category = not category or category in group["categories"]
            if in_category:
                kind_counts[group["kind"]] += group["n"]
            if not kind or group["kind"] == kind:
                for slug in group["categories"]:
                    category_counts[slug] += group["n"]
                if in_category:
                    total += group["n"]
        return total, dict(category_counts), dict(kind_counts)

    def spelling(self, query):
        return self._spelling(query, Deadline())

    def _spelling(self, query, deadline):
        """The corrected query, or '' (also when the budget runs out: no suggestion then)."""
        try:
            with self._budgeted(deadline), connection.cursor() as cursor:
                self._time_left(cursor, deadline)
                analysed = analyse_query(query)
                return self._corrected(analysed.words, self._indexed(analysed))
        except SearchTooComplex:
            return ""

    @staticmethod
    def _indexed(analysed):
        """The query's words that are neither English nor digits and that the articles use,
        as indexed (folded, canonical spelling): one statement, none for an English query."""
        candidates = {_folded(word) for word in analysed.words if not (word.isdigit() or is_english(word))}
        candidates |= {part.prefix for part in analysed.parts if part.prefix}
        candidates = {word for word in candidates if len(word) >= 3 and word.isalnum()}
        if not candidates:
            return set()
        return set(SearchWord.objects.filter(word__in=candidates).values_list("word", flat=True))

    @staticmethod
    def _corrected(words, indexed):
        """The corrected query, or '' when every word is English or in the index (``indexed``),
        or has no close indexed spelling (one statement per correction)."""
        checked = {word: _folded(word) for word in words if not (word.isdigit() or is_english(word))}
        checked = {word: folded for word, folded in checked.items() if len(folded) >= 3 and folded.isalnum()}
        if not checked:
            return ""
        changed, corrected = False, []
        for word in words:
            folded = checked.get(word)
            if folded is None or folded in indexed:
                corrected.append(word)
                continue
            candidates = (
                SearchWord.objects.filter(word__trigram_similar=folded, word__startswith=folded[0])
                .annotate(similarity=TrigramSimilarity("word", folded))
                .order_by("-similarity", "word")
                .values_list("word", flat=True)[:SPELLING_CANDIDATES]
            )
            # The fewest typing slips away (a swapped pair of letters is one), then the most alike.
            closest = min(candidates, key=lambda candidate: DamerauLevenshtein.distance(folded, candidate), default=None)
            corrected.append(closest or word)
            changed = changed or bool(closest)
        return " ".join(corrected) if changed else ""

    def autocomplete(self, prefix, *, limit=8):
        typed = normalize_name(prefix[:200])
        if not typed:
            return []
        first = typed.split()[0]

        def complete():
            rows = (
                SearchEntry.objects.filter(names_text__regex=r"(^|\s)" + re.escape(first))
                .order_by("title")
                .values_list("title", "url", "names")[:AUTOCOMPLETE_CANDIDATES]
            )
            return NameIndex(NamedArticle(title, url, tuple(names)) for title, url, names in rows).complete(prefix, limit=limit)

        return self._guard(complete)


def _idf(frequencies, total):
    """Each part's inverse document frequency, log(1 + (N − n + 0.5) / (n + 0.5)) for n of N
    entries matching it (BM25's: Robertson and Zaragoza, "The Probabilistic Relevance
    Framework: BM25 and Beyond", 2009, eq. 3.3); 1 for a lone part."""
    if len(frequencies) == 1:
        return [1.0]
    return [math.log(1 + (total - n + 0.5) / (n + 0.5)) for n in frequencies]


class _TimedCounts:
    """A small thread-safe ``{key: count}`` whose entries expire (document frequencies)."""

    def __init__(self, seconds, size=10_000):
        self.seconds, self.size = seconds, size
        self._items, self._lock = {}, threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
        return item[1] if item and item[0] > time.monotonic() else None

    def clear(self):
        with self._lock:
            self._items.clear()

    def put(self, key, value):
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.seconds, value)


_frequencies = _TimedCounts(DOCUMENT_FREQUENCY_SECONDS)
_stop_words = set()  # words the articles' text has and no vector does: PostgreSQL's stop words


SearchBackend = PostgresSearchBackend
