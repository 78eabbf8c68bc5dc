"""The sitemap (``/sitemap.xml``, Django's sitemaps framework): published articles with
their last change, categories that hold one, the home page, the A–Z and its letter pages."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import Article, Category
from .navigation import letter_key, letters_in_use


class ArticleSitemap(Sitemap):
    changefreq = "monthly"

    def items(self):
        return Article.objects.published().order_by("slug").only("slug", "updated_at")

    def lastmod(self, article):
        return article.updated_at


class CategorySitemap(Sitemap):
    changefreq = "weekly"

    def items(self):
        return Category.objects.filter(articles__status=Article.Status.PUBLISHED).distinct().order_by("slug")


class PageSitemap(Sitemap):
    changefreq = "daily"

    def items(self):
        return ["home", "conditions:index"]

    def location(self, name):
        return reverse(name)


class LetterSitemap(Sitemap):
    """The A–Z's letter pages that have entries (one page per letter)."""

    changefreq = "weekly"

    def items(self):
        return sorted(letter_key(letter) for letter in letters_in_use(Article.objects.published()))

    def location(self, key):
        return reverse("conditions:letter", args=[key])


SITEMAPS = {"articles": ArticleSitemap, "categories": CategorySitemap, "pages": PageSitemap, "letters": LetterSitemap}
