"""Public pages of the articles app: the A–Z index, an article, a category."""

from itertools import groupby

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render

from .models import Article, Category
from .navigation import AZ_LETTERS, az_entries


def article_index(request):
    entries = az_entries(Article.objects.published().only("slug", "title", "also_known_as"))
    groups = [(letter, list(items)) for letter, items in groupby(entries, key=lambda entry: entry.letter)]
    return render(
        request,
        "conditions/article_index.html",
        {"groups": groups, "letters": AZ_LETTERS, "letters_in_use": {letter for letter, _ in groups}},
    )


def article_detail(request, slug):
    """An article; staff who may view articles also see drafts and articles in review, marked as a preview."""
    preview = request.user.is_staff and request.user.has_perm("conditions.view_article")
    articles = Article.objects.all() if preview else Article.objects.published()
    article = get_object_or_404(articles.with_page_data(), slug=slug)
    response = render(
        request,
        "conditions/article_detail.html",
        {"article": article, "sections": article.sections.all(), "preview": not article.is_published},
    )
    if not article.is_published:
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
    return response


def category_detail(request, slug):
    category = get_object_or_404(Category, slug=slug)
    articles = category.articles.published().only("slug", "title", "summary")
    return render(request, "conditions/category_detail.html", {"category": category, "articles": articles})


def categories_with_counts():
    return Category.objects.annotate(
        published_count=Count("articles", filter=Q(articles__status=Article.Status.PUBLISHED))
    ).filter(published_count__gt=0)
