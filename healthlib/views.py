"""Site-wide pages: home, search results and search suggestions.

A search that runs out of its time budget with nothing to show answers 422 with a
friendly "too complex" message (``SearchTooComplex``): the remedy lies with the query
(fewer words, no quotation marks), as with the 400 for an absurdly long one, and a 4xx
is neither cached by browsers and proxies as a good answer nor counted as a server
error; the page is otherwise a normal search page (form, browse links). The API answers
the same case with the same status.
"""

from django.core.cache import caches
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from conditions.models import Article, Category
from conditions.navigation import az_bar, az_entries
from conditions.search import get_backend
from conditions.search.base import SearchTooComplex, SearchUnavailable
from conditions.search.documents import clean_query
from conditions.search.forms import SearchForm
from conditions.views import categories_with_counts

from .pagecache import public_page
from .ratelimit import rate_limited


@public_page
def home(request):
    articles = Article.objects.published()
    return render(
        request,
        "home.html",
        {
            "az_bar": az_bar({entry.letter for entry in az_entries(articles.only("slug", "title", "also_known_as"))}),
            "categories": categories_with_counts(),
            "recent": articles.order_by("-updated_at", "title").only("slug", "title", "summary", "updated_at")[:6],
        },
    )


def _query(request):
    """The first ``q`` (repeats ignored), cleaned; ``None`` when absurdly long."""
    return clean_query((request.GET.getlist("q") or [""])[0])


@require_GET
@rate_limited("search", "HEALTHLIB_SEARCH_RATE_LIMIT", concurrency="HEALTHLIB_SEARCH_CONCURRENCY")
def search(request):
    form = SearchForm(request.GET)
    context = {"query": "", "categories": categories_with_counts()}
    if not form.is_valid():
        context["error"] = form.errors["q"][0]
        return render(request, "search.html", context, status=400)
    query, category = form.cleaned_data["q"], form.cleaned_data["category"]
    context["query"] = query
    if not query:
        return render(request, "search.html", context)
    try:
        results = get_backend().search(query, category=category.slug if category else None, page=form.cleaned_data["page"])
    except SearchUnavailable:
        context["unavailable"] = True
        return render(request, "search.html", context, status=503)
    except SearchTooComplex:
        context["error"] = SearchTooComplex.message
        return render(request, "search.html", context, status=422)
    names = dict(Category.objects.values_list("slug", "name"))
    context.update(
        results=results,
        category=category,
        facets=sorted(((names[slug], slug, count) for slug, count in results.category_counts.items() if slug in names)),
        page_range=range(max(1, results.page - 3), min(results.pages, results.page + 3) + 1),
    )
    return render(request, "search.html", context)


@require_GET
@rate_limited("suggest", "HEALTHLIB_SUGGEST_RATE_LIMIT", json=True)
def suggest(request):
    query = _query(request) or ""
    try:
        suggestions = get_backend().autocomplete(query) if query else []
    except SearchUnavailable:
        return JsonResponse({"results": [], "error": "Search is temporarily unavailable."}, status=503)
    return JsonResponse({"results": [{"title": s.title, "url": s.url, "matched": s.matched} for s in suggestions]})


def healthz(request):
    """Whether this server can reach its database, cache and search index (JSON; 503 when not)."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # any failure is the answer, not a crash
        checks["database"] = f"error: {type(error).__name__}"
    try:
        caches["default"].set("healthz", "ok", 10)
        checks["cache"] = "ok" if caches["default"].get("healthz") == "ok" else "error: value not kept"
    except Exception as error:
        checks["cache"] = f"error: {type(error).__name__}"
    try:
        get_backend().ping()
        checks["search"] = "ok"
    except Exception as error:
        checks["search"] = f"error: {type(error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    response = JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


def favicon(request):
    """``/favicon.ico``: the site's icon, for browsers that ask without being told (the admin's pages)."""
    return redirect(static("favicon.svg"))  # the hashed name in production, so not permanent
