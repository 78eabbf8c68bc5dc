"""Public pages of the articles app: the A–Z index, an article, a category."""

from itertools import groupby

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from healthlib.pagecache import public_page

from . import seo

from .models import Article, Category
from .navigation import AZ_LETTERS, az_entries


@public_page
def article_index(request):
    entries = az_entries(Article.objects.published().only("slug", "title", "also_known_as"))
    groups = [(letter, list(items)) for letter, items in groupby(entries, key=lambda entry: entry.letter)]
    return render(
        request,
        "conditions/article_index.html",
        {"groups": groups, "letters": AZ_LETTERS, "letters_in_use": {letter for letter, _ in groups}},
    )


@public_page
def article_detail(request, slug):
    """An article; staff who may view articles also see drafts and articles in review, marked as a preview."""
    preview = request.user.is_staff and request.user.has_perm("conditions.view_article")
    articles = Article.objects.all() if preview else Article.objects.published()
    article = get_object_or_404(articles.with_page_data(), slug=slug)
    sections = article.sections.all()
    trail = [(_("Home"), reverse("home")), (_("Diseases & Conditions"), reverse("conditions:index")), (article.title, article.get_absolute_url())]
    response = render(
        request,
        "conditions/article_detail.html",
        {
            "article": article,
            "sections": sections,
            "preview": not article.is_published,
            "structured_data": seo.json_ld(seo.article_structured_data(request, article, sections, [(str(n), p) for n, p in trail])),
        },
    )
    if not article.is_published:
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
    return response


@public_page
def category_detail(request, slug):
    category = get_object_or_404(Category, slug=slug)
    articles = category.articles.published().only("slug", "title", "summary")
    trail = [(str(_("Home")), reverse("home")), (str(_("Diseases & Conditions")), reverse("conditions:index")), (category.name, category.get_absolute_url())]
    structured_data = seo.json_ld({"@context": "https://schema.org", **seo.breadcrumbs(request, trail)})
    return render(request, "conditions/category_detail.html", {"category": category, "articles": articles, "structured_data": structured_data})


def categories_with_counts():
    return Category.objects.annotate(
        published_count=Count("articles", filter=Q(articles__status=Article.Status.PUBLISHED))
    ).filter(published_count__gt=0)
