"""PostgreSQL backend: search in the database every web server already shares.

For several web servers behind a load balancer: the index is a table
(``SearchEntry``) whose weighted ``tsvector`` the database keeps itself (a generated
column, migration 0006: title and other names A, summary B, sections C) under a GIN
index, so a save on one server is found by every server as soon as it commits, and a
rebuild is one transaction (readers see the old rows until it commits).

Queries: each word or quoted phrase goes through ``websearch_to_tsquery('english', …)``
(a quoted phrase stays a phrase; nothing the user types is operator syntax, since the
words come from ``query_words``), and the parts are OR-ed; ``ts_rank`` with weights
(A 1.0, B 0.4, C 0.2) orders them, scaled up by how many of the words matched (as
Whoosh's coordination bonus does), with a large bonus when the query *is* a title or
other name. Snippets come from ``ts_headline`` on the best-matching section. pg_trgm
gives did-you-mean and the typo-tolerant retry (over ``SearchWord``, the unstemmed
vocabulary) and narrows autocomplete candidates (over the normalized names).

A query matching more than ``FULL_RANK_LIMIT`` articles (common words in a large
library) is ranked in two passes: first by a small names-and-summary vector, then fully
for the best of those only, since the full ``ts_rank`` reads each article's whole text.

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
import json
import logging
import re
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction
from psycopg.errors import QueryCanceled

from ..models import SectionKind
from .base import BaseSearchBackend, Deadline, Hit, SearchResults, SearchTooComplex, SearchUnavailable
from .documents import fold, matched_other_name, normalize_name, query_words, stems
from .highlight import best_section, word_pattern
from .models import SearchEntry, SearchWord
from .names import NamedArticle, NameIndex

logger = logging.getLogger(__name__)

CONFIG = "english"
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"  # D, C, B, A
WORD_RE = re.compile(r"[a-z0-9]{2,40}")
AUTOCOMPLETE_CANDIDATES = 300
FULL_RANK_LIMIT = 1000  # broad queries: fully rank only the best this many (see migration 0007)
HEADLINE_OPTIONS = "StartSel=\x01, StopSel=\x02, MaxWords=40, MinWords=20, ShortWord=2, MaxFragments=1, FragmentDelimiter=\x03"


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

    @staticmethod
    def _tsquery(parts):
        """SQL for the OR of ``websearch_to_tsquery`` over the parts, and its parameters."""
        sql = " || ".join(f"websearch_to_tsquery('{CONFIG}', %s)" for _ in parts)
        return f"({sql})", list(parts)

    def search(self, query, *, category=None, page=1, per_page=10, budget=None):
        deadline = Deadline(budget)
        results = SearchResults(query=query)
        phrases, words = query_words(query)
        if not phrases and not words:
            return results
        results.suggestion = self._spelling(query, deadline)
        with self._budgeted(deadline):
            self._search(results, phrases, words, query, category, page, per_page, deadline)
            if not results.total and results.suggestion:
                # Typo-tolerant retry with the closest indexed spellings.
                _, corrected = query_words(results.suggestion)
                self._search(results, phrases, corrected, results.suggestion, category, page, per_page, deadline)
                results.fuzzy = bool(results.total)
        return results

    def _search(self, results, phrases, words, text, category, page, per_page, deadline):
        parts = [f'"{fold(p)}"' for p in phrases] + [fold(w) for w in words]
        tsquery, params = self._tsquery(parts)
        matched = " + ".join([f"(vector @@ websearch_to_tsquery('{CONFIG}', %s))::int"] * len(parts))
        category_sql, category_params = ("AND categories @> %s::jsonb", [json.dumps([category])]) if category else ("", [])
        with connection.cursor() as cursor:
            self._time_left(cursor, deadline)
            cursor.execute(
                f"SELECT c, count(*) FROM conditions_searchentry, jsonb_array_elements_text(categories) c "
                f"WHERE vector @@ {tsquery} GROUP BY c",
                params,
            )
            results.category_counts = dict(cursor.fetchall())
            self._time_left(cursor, deadline)
            cursor.execute(f"SELECT count(*) FROM conditions_searchentry WHERE vector @@ {tsquery} {category_sql}", params + category_params)
            results.total = cursor.fetchone()[0]
            results.pages = max(1, -(-results.total // per_page))
            results.page = min(max(1, page), results.pages)
            results.hits = []
            if not results.total:
                return
            exact = normalize_name(text)
            exact_pattern = f"%|{exact}|%" if exact else ""
            offset = (results.page - 1) * per_page
            candidates_sql, candidates_params = "", []
            if results.total > FULL_RANK_LIMIT and offset + per_page <= FULL_RANK_LIMIT:
                # Broad query: the full ranking reads every match's whole text vector, so rank
                # by names and summary first and fully rank only the best FULL_RANK_LIMIT.
                candidates_sql = (
                    f"AND id IN (SELECT id FROM conditions_searchentry WHERE vector @@ {tsquery} {category_sql} "
                    f"ORDER BY ts_rank('{RANK_WEIGHTS}', head_vector, {tsquery}) "
                    f"  + CASE WHEN names_exact LIKE %s THEN 1000 ELSE 0 END DESC, id LIMIT {FULL_RANK_LIMIT})"
                )
                candidates_params = params + category_params + params + [exact_pattern]
            self._time_left(cursor, deadline)
            cursor.execute(
                f"SELECT slug, url, title, names, summary, sections FROM conditions_searchentry "
                f"WHERE vector @@ {tsquery} {category_sql} {candidates_sql} "
                f"ORDER BY ts_rank('{RANK_WEIGHTS}', vector, {tsquery}) * (1 + 0.5 * ({matched})) "
                f"  + CASE WHEN names_exact LIKE %s THEN 1000 ELSE 0 END DESC, title "
                f"LIMIT %s OFFSET %s",
                params + category_params + candidates_params + params + parts + [exact_pattern, per_page, offset],
            )
            rows = cursor.fetchall()
            query_stems = {stem for word in words for stem in stems(word)}
            pattern = word_pattern([*words, *query_stems])
            picked = []
            for slug, url, title, names, summary, sections in rows:
                names, sections = _json(names), _json(sections)
                kind, section_text = (best_section([tuple(s) for s in sections], pattern) if pattern else None) or ("", "")
                picked.append(section_text)
                results.hits.append(Hit(
                    slug=slug, title=title, url=url, summary=summary,
                    matched_name=matched_other_name(title, names[1:], query_stems),
                    section=kind, section_label=str(SectionKind(kind).label) if kind else "",
                ))
            self._time_left(cursor, deadline)
            cursor.execute(
                f"SELECT ts_headline('{CONFIG}', t.text, {tsquery}, %s) FROM unnest(%s::text[]) WITH ORDINALITY AS t(text, n) ORDER BY t.n",
                params + [HEADLINE_OPTIONS, picked],
            )
            for hit, (headline,) in zip(results.hits, cursor.fetchall()):
                if hit.section:
                    hit.snippet = _marked(headline)

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
                    cursor.execute(
                        "SELECT word FROM conditions_searchword WHERE word %% %s AND left(word, 1) = left(%s, 1) "
                        "ORDER BY similarity(word, %s) DESC, word LIMIT 1",
                        [folded, folded, folded],
                    )
                    row = cursor.fetchone()
                    corrected.append(row[0] if row else word)
                    changed = changed or bool(row)
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
            return NameIndex(NamedArticle(title, url, tuple(_json(names))) for title, url, names in rows).complete(prefix, limit=limit)

        return self._guard(complete)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _marked(headline):
    """ts_headline's text with our markers → escaped HTML with <mark>."""
    text = html.escape(headline.split("\x03")[0], quote=False)
    return text.replace("\x01", "<mark>").replace("\x02", "</mark>").strip()


SearchBackend = PostgresSearchBackend
