"""PostgreSQL backend: search in the database every web server already shares.

For several web servers behind a load balancer: the index is a table (``SearchEntry``)
whose weighted search vectors the database keeps itself (``GeneratedField`` columns of
``SearchVector`` expressions, under a ``GinIndex``), so a save on one server is found by
every server as soon as it commits, and a rebuild is one transaction (readers see the old
rows until it commits).

Everything goes through Django's full-text search API
(https://docs.djangoproject.com/en/stable/ref/contrib/postgres/search/): each word or
quoted phrase is a ``SearchQuery(search_type="websearch")`` (a quoted phrase stays a
phrase; nothing the user types is operator syntax, since the words come from
``query_words``), and the parts are OR-ed; ``SearchRank`` with the weights
``documents.postgres_weights`` derives from the declared boosts orders them, scaled up
by how many of the words matched (as Whoosh's coordination bonus does), with a large
bonus when the query *is* a title or other name. ``SearchHeadline`` marks the words in
the best-matching section. ``TrigramSimilarity`` and the ``trigram_similar`` lookup
(pg_trgm) give did-you-mean and the typo-tolerant retry over ``SearchWord``, the
unstemmed vocabulary; autocomplete narrows its candidates with a regular expression the
trigram index serves. Python-side stems (which other name matched, which section to
quote) come from ``snowballstemmer``, the Snowball English stemmer PostgreSQL's
``english`` configuration runs, so they agree with the index; Whoosh is never imported.

A query matching more than ``FULL_RANK_LIMIT`` articles (common words in a large
library) is ranked in two passes: first by the small names-and-summary vector
(``head_vector``), then fully for the best of those only, since the full rank reads each
article's whole text vector.

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

import html
import logging
import re
from collections import Counter
from contextlib import contextmanager
from functools import lru_cache, reduce
from operator import add, and_, or_

import snowballstemmer
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, TrigramSimilarity
from django.db import DatabaseError, connection, transaction
from django.db.models import Case, Count, F, Sum, TextField, Value, When
from django.db.models.fields.json import KT
from psycopg.errors import QueryCanceled

from ..models import SectionKind
from .base import BaseSearchBackend, Deadline, Hit, SearchResults, SearchTooComplex, SearchUnavailable
from .documents import fold, matched_other_name, normalize_name, query_words
from .highlight import best_section, word_pattern
from .models import CONFIG, RANK_WEIGHTS, SearchEntry, SearchWord
from .names import NamedArticle, NameIndex

logger = logging.getLogger(__name__)

WORD_RE = re.compile(r"[a-z0-9]{2,40}")
AUTOCOMPLETE_CANDIDATES = 300
FULL_RANK_LIMIT = 1000  # broad queries: fully rank only the best this many
EXACT_NAME_BONUS = 1000.0  # the query is an article's title or other name: first, whatever else matches
HEADLINE = dict(start_sel="\x01", stop_sel="\x02", max_words=40, min_words=20, short_word=2, max_fragments=1, fragment_delimiter="\x03")
HIT_FIELDS = ("pk", "slug", "kind", "url", "title", "names", "summary", "sections")


@lru_cache(maxsize=50_000)
def _stem(word):
    # A stemmer object keeps state between calls, so each call makes its own (threads);
    # with PyStemmer installed (the same Snowball algorithms in C) snowballstemmer uses it.
    return snowballstemmer.stemmer("english").stemWord(word)


def stems(text):
    """The Snowball English stems of ``text``'s words, accents folded (``["fractur", "bone"]``)."""
    return [_stem(word) for word in re.findall(r"\w+", fold(text).casefold())]


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
        folded_title=fold(document.title),
        folded_aka=fold("\n".join(document.aka)),
        folded_summary=fold(document.summary),
        folded_body=fold(body),
        names_exact="|" + "|".join(normalize_name(name) for name in names) + "|",
        names_text="\n".join(normalize_name(name) for name in names),
    )


def _words(documents):
    words = set()
    for document in documents:
        text = " ".join([document.title, *document.aka, document.summary, *(t for _, t in document.sections)])
        words.update(WORD_RE.findall(fold(text).casefold()))
    return words


class PostgresSearchBackend(BaseSearchBackend):
    def __init__(self, **options):
        pass  # everything lives in the database; options such as ``path`` do not apply

    # -- writing --------------------------------------------------------------------

    def add_bulk(self, documents):
        documents = list(documents)
        with transaction.atomic():
            for document in documents:
                SearchEntry.objects.update_or_create(slug=document.slug, defaults=_entry_fields(document))
            self._add_words(documents)

    def _add_words(self, documents):
        SearchWord.objects.bulk_create([SearchWord(word=w) for w in sorted(_words(documents))], ignore_conflicts=True, batch_size=2000)

    def delete(self, slug):
        SearchEntry.objects.filter(slug=slug).delete()

    def reset_index(self):
        with transaction.atomic():
            SearchEntry.objects.all().delete()
            SearchWord.objects.all().delete()

    def rebuild(self, documents, progress=None, processes=1):
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
        cancelled statement becomes ``SearchTooComplex``, any other failure ``SearchUnavailable``."""
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('statement_timeout')")
                (previous,) = cursor.fetchone()
                yield
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
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
        phrases, words = query_words(query)
        if not phrases and not words:
            return SearchResults(query)
        suggestion = self._spelling(query, deadline)
        with self._budgeted(deadline):
            results = self._search(query, phrases, words, query, category, kind, deadline)
            if not results.total and suggestion:
                # Typo-tolerant retry with the closest indexed spellings.
                _, corrected = query_words(suggestion)
                results = self._search(query, phrases, corrected, suggestion, category, kind, deadline)
                results.fuzzy = bool(results.total)
        results.suggestion = suggestion
        return results

    def _search(self, query, phrases, words, text, category, kind, deadline):
        """``SearchResults`` for the parts, counted now and ranked when sliced."""
        parts = [SearchQuery(f'"{fold(p)}"', config=CONFIG, search_type="websearch") for p in phrases]
        parts += [SearchQuery(fold(w), config=CONFIG, search_type="websearch") for w in words]
        tsquery = reduce(or_, parts)
        every = reduce(and_, parts) if len(parts) > 1 else None  # only an article with every word or phrase
        matches = SearchEntry.objects.filter(vector=tsquery)
        # Articles with every word come first, ranked among themselves; then those with some.
        whole = Case(When(vector=every, then=Value(1)), default=Value(0)) if every is not None else Value(1)
        with connection.cursor() as cursor:
            self._time_left(cursor, deadline)
            total, complete, category_counts, kind_counts = self._counts(matches, whole, category, kind)
        if category:
            matches = matches.filter(categories__contains=[category])
        if kind:
            matches = matches.filter(kind=kind)
        exact = normalize_name(text)
        exact_bonus = Case(When(names_exact__contains=f"|{exact}|", then=Value(EXACT_NAME_BONUS)), default=Value(0.0)) if exact else Value(0.0)
        rank = SearchRank(F("vector"), tsquery, weights=RANK_WEIGHTS)
        if len(parts) > 1:  # each extra part matched raises the rank (a coordination bonus)
            matched = reduce(add, (Case(When(vector=part, then=Value(1.0)), default=Value(0.0)) for part in parts))
            rank = rank * (Value(1.0) + Value(0.5) * matched)
        rank = rank + exact_bonus
        query_stems = {stem for word in words for stem in stems(word)}
        pattern = word_pattern([*words, *query_stems])

        def fetch(start, stop):
            ranked = matches
            if total > FULL_RANK_LIMIT and stop <= FULL_RANK_LIMIT:
                # Broad query: the full rank reads every match's whole text vector, so rank
                # by names and summary first and fully rank only the best FULL_RANK_LIMIT.
                head_rank = SearchRank(F("head_vector"), tsquery, weights=RANK_WEIGHTS) + exact_bonus
                best = matches.annotate(head_rank=head_rank, whole=whole).order_by("-whole", "-head_rank", "pk").values("pk")[:FULL_RANK_LIMIT]
                ranked = matches.filter(pk__in=best)
            with self._budgeted(deadline), connection.cursor() as cursor:
                self._time_left(cursor, deadline)
                rows = list(ranked.annotate(rank=rank, whole=whole).order_by("-whole", "-rank", "title").values(*HIT_FIELDS, "whole")[start:stop])
                hits, sections = [], {}
                for row in rows:
                    best = best_section(row["sections"], pattern) if pattern else None
                    kind = best[0] if best else ""
                    if best:
                        sections[row["pk"]] = [tuple(section) for section in row["sections"]].index(best)
                    hits.append(Hit(
                        slug=row["slug"], kind=row["kind"], title=row["title"], url=row["url"], summary=row["summary"],
                        matched_name=matched_other_name(row["title"], row["names"][1:], query_stems, stems),
                        section=kind, section_label=str(SectionKind(kind).label) if kind else "", complete=bool(row["whole"]),
                    ))
                self._time_left(cursor, deadline)
                headlines = self._headlines(sections, tsquery)
            for hit, row in zip(hits, rows):
                if row["pk"] in headlines:
                    hit.snippet = _marked(headlines[row["pk"]])
            return hits, False

        return SearchResults(query, total=total, complete=complete, fetch=fetch, category_counts=category_counts, kind_counts=kind_counts)

    @staticmethod
    def _counts(matches, whole, category, kind):
        """``(total, complete, {category slug: n}, {kind: n})`` in one query: the total and the
        hits with every word under both filters, each facet's counts under the other facet's
        filter. The database groups the matches by (kind, categories), a few dozen groups
        however broad the query, and Python adds the groups up by facet."""
        total = complete = 0
        category_counts, kind_counts = Counter(), Counter()
        groups = matches.order_by().values("kind", "categories").annotate(n=Count("pk"), every=Sum(whole))
        for group in groups:
            in_category = not category or category in group["categories"]
            if in_category:
                kind_counts[group["kind"]] += group["n"]
            if not kind or group["kind"] == kind:
                for slug in group["categories"]:
                    category_counts[slug] += group["n"]
                if in_category:
                    total += group["n"]
                    complete += group["every"]
        return total, complete, dict(category_counts), dict(kind_counts)

    @staticmethod
    def _headlines(sections, tsquery):
        """``{entry pk: SearchHeadline text}`` of the section at index ``sections[pk]`` of each entry."""
        if not sections:
            return {}
        text = Case(*(When(pk=pk, then=KT(f"sections__{index}__1")) for pk, index in sections.items()), output_field=TextField())
        headline = SearchHeadline(text, tsquery, config=CONFIG, **HEADLINE)
        return dict(SearchEntry.objects.filter(pk__in=sections).annotate(headline=headline).values_list("pk", "headline"))

    def spelling(self, query):
        return self._spelling(query, Deadline())

    def _spelling(self, query, deadline):
        """The corrected query, or '' (also when the budget runs out: no suggestion then)."""
        _, words = query_words(query)
        if not words:
            return ""
        changed, corrected = False, []
        try:
            with self._budgeted(deadline), connection.cursor() as cursor:
                for word in words:
                    self._time_left(cursor, deadline)
                    folded = fold(word).casefold()
                    if word.isdigit() or len(folded) < 3 or SearchWord.objects.filter(word=folded).exists():
                        corrected.append(word)
                        continue
                    closest = (
                        SearchWord.objects.filter(word__trigram_similar=folded, word__startswith=folded[0])
                        .annotate(similarity=TrigramSimilarity("word", folded))
                        .order_by("-similarity", "word")
                        .values_list("word", flat=True)
                        .first()
                    )
                    corrected.append(closest or word)
                    changed = changed or bool(closest)
        except SearchTooComplex:
            return ""
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


def _marked(headline):
    """ts_headline's text with our markers → escaped HTML with <mark>."""
    text = html.escape(headline.split("\x03")[0], quote=False)
    return text.replace("\x01", "<mark>").replace("\x02", "</mark>").strip()


SearchBackend = PostgresSearchBackend
