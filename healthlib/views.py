"""Site-wide pages: home and search results."""

from django.shortcuts import render

from conditions.models import Article
from conditions.navigation import AZ_LETTERS
from conditions.views import categories_with_counts


def home(request):
    articles = Article.objects.published()
    return render(
        request,
        "home.html",
        {
            "letters": AZ_LETTERS,
            "letters_in_use": {entry[:1].upper() for entry in articles.values_list("title", flat=True)},
            "categories": categories_with_counts(),
            "recent": articles.order_by("-updated_at", "title").only("slug", "title", "summary", "updated_at")[:6],
        },
    )


def search(request):
    query = " ".join(request.GET.get("q", "").split())[:200]
    return render(request, "search.html", {"query": query})
