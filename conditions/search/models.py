"""The search index as database rows, for the PostgreSQL backend (``postgres.py``).

These tables were created by the articles app's migrations (0005–0007) before search was
an app of its own; their names are kept (``db_table``) and the move was made in the
migration state only (``SeparateDatabaseAndState``), so existing databases keep their rows.
"""

from django.db import models


class SearchEntry(models.Model):
    """One published article as the PostgreSQL search backend indexes it (``conditions.search.postgres``).

    The table exists on every database (migrations stay one list) but only that backend
    uses it. On PostgreSQL, migration conditions.0006 adds a ``vector`` column the database keeps
    itself (``GENERATED ALWAYS AS … STORED``: title and other names weight A, summary B,
    sections C) with a GIN index, and trigram indexes for names and words. The ``folded_*``
    fields are accent-folded copies: ``unaccent()`` is not immutable, so it cannot feed a
    generated column, and Python folds them instead.
    """

    slug = models.SlugField(max_length=200, unique=True)
    url = models.CharField(max_length=300)
    title = models.CharField(max_length=200)
    names = models.JSONField(default=list)  # title first, then the other names
    summary = models.TextField()
    sections = models.JSONField(default=list)  # [[kind, plain text], …]
    categories = models.JSONField(default=list)
    content_hash = models.CharField(max_length=32)
    folded_title = models.TextField()
    folded_aka = models.TextField(blank=True)
    folded_summary = models.TextField()
    folded_body = models.TextField(blank=True)
    names_exact = models.TextField(blank=True)  # "|name one|name two|", normalized, for the exact-name boost
    names_text = models.TextField(blank=True)  # normalized names, one per line, for autocomplete

    class Meta:
        db_table = "conditions_searchentry"  # created under the articles app (migration conditions.0005)
        ordering = ["slug"]


class SearchWord(models.Model):
    """The unstemmed words of the indexed articles: did-you-mean and typo retries (pg_trgm)."""

    word = models.CharField(max_length=100, primary_key=True)

    class Meta:
        db_table = "conditions_searchword"
