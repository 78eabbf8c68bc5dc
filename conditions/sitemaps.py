"""The sitemap (``/sitemap.xml``, Django's sitemaps framework): published articles with
their last change, categories that hold one, the home and library pages, each kind's A–Z
and its letter pages."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .kinds import KINDS
from .models import Article, Category
from .navigation import az_entries, letter_key


class ArticleSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return Article.objects.published().order_by("slug").only("slug", "kind", "updated_at")

    def lastmod(self, article):
        return article.updated_at


class CategorySitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Category.objects.filter(articles__status=Article.Status.PUBLISHED).distinct().order_by("slug")


class PageSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        kinds = set(Article.objects.published().values_list("kind", flat=True).distinct())
        return [("home", []), ("conditions:library", [])] + [("conditions:index", [info.path]) for kind, info in KINDS.items() if kind in kinds]

    def location(self, item):
        name, args = item
        return reverse(name, args=args)


class LetterSitemap(Sitemap):
    """Each kind's A–Z letter pages that have entries (one page per letter), in one query."""

    changefreq = "weekly"

    def items(self):
        articles = Article.objects.published().only("slug", "kind", "title", "also_known_as")
        by_kind = {}
        for entry in az_entries(articles):
            by_kind.setdefault(entry.article.kind, set()).add(letter_key(entry.letter))
        return [(KINDS[kind].path, key) for kind in KINDS if kind in by_kind for key in sorted(by_kind[kind])]

    def location(self, item):
        return reverse("conditions:letter", args=list(item))


SITEMAPS = {"articles": ArticleSitemap, "categories": CategorySitemap, "pages": PageSitemap, "letters": LetterSitemap}
