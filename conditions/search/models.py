"""The search index as database rows, for the PostgreSQL backend (``postgres.py``).

PostgreSQL only (``Meta.required_db_vendor``): on another database the migrations of
these models do nothing and the Whoosh backend needs none of it. The tables were created
by the articles app's migrations (0005–0007) before search was an app of its own; their
names are kept (``db_table``) and the move was made in the migration state only
(``SeparateDatabaseAndState``), so existing databases keep their rows.

The database keeps each entry's search vectors itself (``GeneratedField`` columns of
``SearchVector`` expressions, stored): ``vector`` holds every field, each labelled with
the weight class ``documents.postgres_weights`` derives from the declared boosts, and
``head_vector`` the names and summary only, for the cheap first ranking pass of a broad
query. Both read the ``folded_*`` columns, accent-folded copies Python writes:
``unaccent()`` is not immutable, so it cannot feed a generated column.
"""

from functools import reduce
from operator import add

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models

from .documents import SEARCH_FIELDS, postgres_weights

CONFIG = "english"  # PostgreSQL's text search configuration: Snowball English stemming, English stop words
NAMES_CONFIG = "simple"  # every word as it is: no stemming, no stop words
WEIGHT_CLASSES, RANK_WEIGHTS = postgres_weights()
HEAD_FIELDS = ("title", "aka", "summary")  # what the first ranking pass of a broad query reads


def weighted_vector(names):
    """A ``SearchVector`` of the ``folded_<name>`` columns, each with its weight class."""
    return reduce(add, (SearchVector(f"folded_{name}", weight=WEIGHT_CLASSES[name], config=CONFIG) for name in names))


class SearchEntry(models.Model):
    """One published article as the PostgreSQL search backend indexes it (``conditions.search.postgres``)."""

    slug = models.SlugField(max_length=200, unique=True)
    url = models.CharField(max_length=300)
    title = models.CharField(max_length=200)
    names = models.JSONField(default=list)  # title first, then the other names
    summary = models.TextField()
    sections = models.JSONField(default=list)  # [[kind, plain text], …]
    categories = models.JSONField(default=list)
    kind = models.CharField(max_length=20, default="condition")  # the article's kind
    content_hash = models.CharField(max_length=32)
    folded_title = models.TextField()
    folded_aka = models.TextField(blank=True)
    folded_summary = models.TextField()
    folded_body = models.TextField(blank=True)
    names_exact = models.TextField(blank=True)  # "|name one|name two|" (documents.name_key): exact names, name phrases, mentions
    names_text = models.TextField(blank=True)  # normalized names, one per line, for autocomplete
    vector = models.GeneratedField(
        expression=weighted_vector([field.name for field in SEARCH_FIELDS]), output_field=SearchVectorField(), db_persist=True
    )
    head_vector = models.GeneratedField(expression=weighted_vector(HEAD_FIELDS), output_field=SearchVectorField(), db_persist=True)
    # The names word for word, unstemmed (title A, other names B), for word beginnings
    # ("hyperlipid:*" → Hyperlipidemia) under a GIN index, which serves prefix matches.
    names_vector = models.GeneratedField(
        expression=SearchVector("folded_title", weight="A", config=NAMES_CONFIG) + SearchVector("folded_aka", weight="B", config=NAMES_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        db_table = "conditions_searchentry"  # created under the articles app (migration conditions.0005)
        required_db_vendor = "postgresql"
        ordering = ["slug"]
        indexes = [
            # fastupdate off: an entry is searchable through the index as soon as it is written,
            # not first scanned from GIN's pending list (which also makes the planner read every
            # row's vector instead: https://www.postgresql.org/docs/current/gin.html#GIN-FAST-UPDATE).
            GinIndex(fields=["vector"], name="search_entry_vector", fastupdate=False),
            GinIndex(OpClass("names_text", name="gin_trgm_ops"), name="search_entry_names_trgm"),
            GinIndex(fields=["names_vector"], name="search_entry_names_vector", fastupdate=False),
        ]


class SearchWord(models.Model):
    """The unstemmed words of the indexed articles: did-you-mean and typo retries (pg_trgm)."""

    word = models.CharField(max_length=100, primary_key=True)

    class Meta:
        db_table = "conditions_searchword"
        required_db_vendor = "postgresql"
        indexes = [GinIndex(OpClass("word", name="gin_trgm_ops"), name="search_word_trgm")]
