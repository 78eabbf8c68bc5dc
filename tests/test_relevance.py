"""Search quality over patient-style queries (``relevance_cases.CASES``), on each backend.

Each query's expected articles were decided from the articles before it was ever run. A
query is answered at rank *r* when the first expected article is the *r*-th result; a
query whose right answer is "none" is answered (rank 1) when no article has all its words,
so the page says "We don't have an article on …". Reported per group and overall:

- top-1: share of queries answered at rank 1;
- top-3: share answered within the first three results;
- MRR: mean reciprocal rank (1/r, 0 when not in the first ten; Voorhees, "The TREC-8
  Question Answering Track Report", 1999).

``make relevance`` prints the table for the Whoosh backend, and for PostgreSQL too when
``DATABASE_URL`` points at PostgreSQL. The floors below are a little under what both
backends score today, so a change that makes search worse fails here.
"""

from collections import defaultdict

import pytest

from .relevance_cases import CASES

pytestmark = pytest.mark.django_db

FLOORS = {"top1": 0.85, "top3": 0.92, "mrr": 0.90}
DEPTH = 10


def rank_of(results, expected):
    """The 1-based rank at which ``results`` answer ``expected`` (0: not answered)."""
    if not expected:
        return 1 if results.complete == 0 else 0
    slugs = [hit.slug for hit in results[:DEPTH]]
    return next((n for n, slug in enumerate(slugs, start=1) if slug in expected), 0)


def evaluate(backend):
    """``({group: {"n", "top1", "top3", "mrr"}}, [(query, expected, rank, top three)])``, "all" included."""
    ranks, misses = defaultdict(list), []
    for query, expected, group in CASES:
        results = backend.search(query)
        rank = rank_of(results, expected)
        ranks[group].append(rank)
        ranks["all"].append(rank)
        if rank != 1:
            misses.append((query, expected, rank, [hit.slug for hit in results[:3]], results.complete))
    report = {
        group: {
            "n": len(values),
            "top1": sum(r == 1 for r in values) / len(values),
            "top3": sum(0 < r <= 3 for r in values) / len(values),
            "mrr": sum(1 / r for r in values if r) / len(values),
        }
        for group, values in ranks.items()
    }
    return report, misses


def test_the_cases_are_many_varied_and_name_real_articles():
    from conditions.models import Article

    slugs = set(Article.objects.values_list("slug", flat=True))
    queries = [query.casefold() for query, _, _ in CASES]
    assert len(CASES) >= 150 and len(set(queries)) == len(queries)
    assert {group for _, _, group in CASES} >= {"symptom", "question", "misspelling", "british", "abbreviation", "lay", "none"}
    assert all(set(expected) <= slugs for _, expected, _ in CASES)


def test_relevance(backend, capsys):
    report, misses = evaluate(backend)
    with capsys.disabled():
        print(f"\n{type(backend).__name__}: {report['all']['n']} queries")
        print(f"{'group':14}{'n':>5}{'top-1':>8}{'top-3':>8}{'MRR':>8}")
        for group, row in sorted(report.items(), key=lambda item: (item[0] == "all", item[0])):
            print(f"{group:14}{row['n']:>5}{row['top1']:>8.3f}{row['top3']:>8.3f}{row['mrr']:>8.3f}")
        for query, expected, rank, top, complete in misses:
            print(f"  rank {rank or '-':>2}  {query!r}: expected {expected or 'none'}, got {top} ({complete} with every word)")
    overall = report["all"]
    assert all(overall[name] >= floor for name, floor in FLOORS.items()), overall
    assert report["none"]["top1"] >= 0.9, [m for m in misses if not m[1]]
