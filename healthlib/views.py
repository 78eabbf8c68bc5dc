"""Site-wide pages: home, the health check, the favicon (search: ``conditions.search.views``)."""

from django.core.cache import caches
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from conditions.models import Article
from conditions.navigation import az_bar, az_entries
from conditions.search import get_backend
from conditions.views import categories_with_counts

from .pagecache import public_page


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
