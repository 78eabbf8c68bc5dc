"""The search page and the suggestions behind the header's search box.

A search that runs out of its time budget with nothing to show answers 422 with a
friendly "too complex" message (``SearchTooComplex``): the remedy lies with the query
(fewer words, no quotation marks), as with the 400 for an absurdly long one, and a 4xx
is neither cached by browsers and proxies as a good answer nor counted as a server
error; the page is otherwise a normal search page (form, browse links). The API answers
the same case with the same status.
"""

import unicodedata

from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from healthlib.pagecache import public_page
from healthlib.ratelimit import rate_limited

from ..kinds import KINDS
from ..models import Category
from ..views import categories_with_counts
from . import get_backend
from .base import SearchTooComplex, SearchUnavailable
from .documents import clean_query
from .forms import SearchForm

TEMPLATE = "search/results.html"
RESULTS_PER_PAGE = 10


def _query(request):
    """The first ``q`` (repeats ignored), cleaned; ``None`` when absurdly long."""
    return clean_query((request.GET.getlist("q") or [""])[0])


@require_GET
# Every search a client asks for, answered from the cache or not: a high limit, for one client hammering.
@rate_limited("search-request", "HEALTHLIB_SEARCH_REQUEST_RATE_LIMIT")
# Repeat searches (the same words, filters and page) come from the page cache while the
# content is unchanged (retired with every publish, as pages are): only new ones run below.
@public_page(query_params=("q", "category", "kind", "page"), normalize={"q": clean_query})
# Searches that run: the per-address limits sized for many people behind one address.
@rate_limited("search", "HEALTHLIB_SEARCH_RATE_LIMIT", concurrency="HEALTHLIB_SEARCH_CONCURRENCY")
def search(request):
    form = SearchForm(request.GET)
    context = {"query": "", "categories": categories_with_counts()}
    if not form.is_valid():
        context["error"] = form.errors["q"][0]
        return render(request, TEMPLATE, context, status=400)
    query, category, kind = form.cleaned_data["q"], form.cleaned_data["category"], form.cleaned_data["kind"]
    context["query"] = query
    if not query:  # also a query of quotes or punctuation only: clean_query leaves nothing of it
        return render(request, TEMPLATE, context)
    try:
        results = get_backend().search(query, category=category.slug if category else None, kind=kind.kind if kind else None)
        # A page past the last shows the last (the hits of a page are ranked here, on slicing).
        page = Paginator(results, RESULTS_PER_PAGE).get_page(form.cleaned_data["page"])
    except SearchUnavailable:
        context["unavailable"] = True
        return render(request, TEMPLATE, context, status=503)
    except SearchTooComplex:
        context["error"] = SearchTooComplex.message
        return render(request, TEMPLATE, context, status=422)
    # A query with letters but none of them Latin (ألم الركبة, боль в колене) finds little here: say why.
    context["not_english"] = any(c.isalpha() for c in query) and not any(c.isalpha() and "LATIN" in unicodedata.name(c, "") for c in query)
    names = dict(Category.objects.values_list("slug", "name"))
    context.update(
        results=results,
        category=category,
        kind=kind,
        kind_facets=[(info, results.kind_counts[name]) for name, info in KINDS.items() if results.kind_counts.get(name)],
        facets=sorted(((names[slug], slug, count) for slug, count in results.category_counts.items() if slug in names)),
        page_obj=page,
        # Hits with every word, then "more results with some of your words" (each list in rank order).
        complete_hits=[hit for hit in page if hit.complete],
        partial_hits=[hit for hit in page if not hit.complete],
        page_range=page.paginator.get_elided_page_range(page.number, on_each_side=3, on_ends=1),
    )
    return render(request, TEMPLATE, context)


@require_GET
@rate_limited("suggest", "HEALTHLIB_SUGGEST_RATE_LIMIT", json=True)
def suggest(request):
    query = _query(request) or ""
    try:
        suggestions = get_backend().autocomplete(query) if query else []
    except SearchUnavailable:
        return JsonResponse({"results": [], "error": "Search is temporarily unavailable."}, status=503)
    return JsonResponse({"results": [{"title": s.title, "url": s.url, "matched": s.matched} for s in suggestions]})


