"""Public pages of the articles app: home, the library (every kind), each kind's A–Z index,
an article, a category; and the health check load balancers ask (database, cache and search)."""

from django.core.cache import caches
from django.db import connection
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from healthlib.pagecache import public_page

from . import seo
from .kinds import KIND_BY_PATH, KINDS, ArticleKind
from .models import Article, ArticleRedirect, Category
from .navigation import AZ_LETTERS, az_bar, az_entries, kind_trail, letter_from_key, letter_key, letters_in_use, library_trail
from .search import get_backend


@public_page
def home(request):
    articles = Article.objects.published()
    return render(
        request,
        "home.html",
        {
            "az_bar": az_bar(letters_in_use(articles.filter(kind=ArticleKind.CONDITION))),
            "az_kind": KINDS[ArticleKind.CONDITION],
            "kinds": kinds_with_counts(),
            "categories": categories_with_counts(),
            "recent": articles.order_by("-updated_at", "title").only("slug", "kind", "title", "summary", "updated_at")[:6],
        },
    )


@public_page
def library(request):
    """Every kind of article, with its A–Z, and every body system: where to browse from."""
    crumbs = library_trail()
    return render(request, "conditions/library.html", {
        "kinds": kinds_with_counts(), "categories": categories_with_counts(),
        "breadcrumbs": crumbs, "structured_data": seo.breadcrumb_data(request, crumbs),
    })


def kinds_with_counts():
    """``[(KindInfo, published articles of that kind)]`` for the kinds that have any, in ``KINDS`` order (one query)."""
    counts = dict(Article.objects.published().values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    return [(info, counts[kind]) for kind, info in KINDS.items() if counts.get(kind)]


@public_page
def article_index(request, kind_path, letter=None):
    """One letter of a kind's A–Z (the first letter in use at ``/tests/``), every letter linked."""
    info = KIND_BY_PATH[kind_path]
    entries = az_entries(Article.objects.published().filter(kind=info.kind).only("slug", "kind", "title", "also_known_as"))
    in_use = {entry.letter for entry in entries}
    first = next((candidate for candidate in AZ_LETTERS if candidate in in_use), AZ_LETTERS[0])
    if letter is None:
        current = first
    else:
        if letter_from_key(letter.lower()) and letter != letter.lower():
            return redirect("conditions:letter", kind_path, letter.lower(), permanent=True)
        current = letter_from_key(letter)
        if current not in in_use:
            raise Http404("No article is filed under that letter.")  # the A–Z bar does not link it either
    # The first letter is the kind's own page (/conditions/): its trail ends at the kind, so
    # the breadcrumb never links twice to the same page.
    here = reverse("conditions:letter", args=[kind_path, letter_key(current)])
    crumbs = kind_trail(info) if current == first else kind_trail(info, (current, here))
    return render(
        request,
        "conditions/article_index.html",
        {"az_kind": info, "letter": current, "entries": [entry for entry in entries if entry.letter == current],
         "az_bar": az_bar(in_use, current), "breadcrumbs": crumbs, "structured_data": seo.breadcrumb_data(request, crumbs),
         "canonical": crumbs[-1].url},  # the first letter's one address is the kind's own (/conditions/)
    )


@public_page
def article_detail(request, kind_path, slug):
    """An article; staff who may view articles also see drafts and articles in review, marked as a preview.

    Under another kind's prefix (``/conditions/mri/``) it answers 301 to its own address.
    """
    preview = request.user.is_staff and request.user.has_perm("conditions.view_article")
    articles = Article.objects.all() if preview else Article.objects.published()
    article = articles.with_page_data().filter(slug=slug).first()
    if article is None:
        # An address the article had before a rename answers 301 to the current one.
        moved = ArticleRedirect.objects.filter(old_slug=slug, article__in=articles).select_related("article").first()
        if moved is None:
            raise Http404("No article has that address.")
        return redirect(moved.article, permanent=True)
    if article.kind_info.path != kind_path:
        return redirect(article, permanent=True)
    sections = article.sections.all()
    crumbs = kind_trail(article.kind_info, (article.title, article.get_absolute_url()))
    response = render(
        request,
        "conditions/article_detail.html",
        {
            "article": article,
            "sections": sections,
            "preview": not article.is_published,
            "breadcrumbs": crumbs,
            "structured_data": seo.json_ld(seo.article_structured_data(request, article, sections, crumbs)),
        },
    )
    if not article.is_published:
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
    return response


@public_page
def category_detail(request, slug):
    category = get_object_or_404(Category, slug=slug)
    articles = category.articles.published().only("slug", "kind", "title", "summary")
    crumbs = library_trail((category.name, category.get_absolute_url()))
    return render(request, "conditions/category_detail.html", {
        "category": category, "articles": articles, "breadcrumbs": crumbs, "structured_data": seo.breadcrumb_data(request, crumbs),
    })


def categories_with_counts():
    return Category.objects.annotate(
        published_count=Count("articles", filter=Q(articles__status=Article.Status.PUBLISHED))
    ).filter(published_count__gt=0)


def healthz(request):
    """Whether this server can reach its database, cache and search index (JSON).

    503 when the database or the search index fails: the load balancer then sends patients
    elsewhere. An unreachable cache is reported as ``degraded`` with a 200, since pages are
    served uncached meanwhile (``healthlib.pagecache.CACHE_ERRORS``) and a shared Redis
    down would otherwise take every server out of the balancer at once."""
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
    healthy = checks["database"] == "ok" and checks["search"] == "ok"
    status = ("ok" if checks["cache"] == "ok" else "degraded") if healthy else "error"
    response = JsonResponse({"status": status, "checks": checks}, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
