"""RSS and Atom feeds of new and updated published articles (Django's syndication framework)."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse, reverse_lazy
from django.utils.feedgenerator import Atom1Feed

from .models import Article

FEED_SIZE = 50


class LatestArticlesFeed(Feed):
    link = reverse_lazy("conditions:library")

    def title(self):
        return f"{settings.HEALTHLIB_SITE_NAME}: new and updated articles"

    def description(self):
        return f"Articles added to or updated in the {settings.HEALTHLIB_SITE_NAME}, newest first."

    def items(self):
        return Article.objects.published().order_by("-updated_at", "slug")[:FEED_SIZE]

    def item_title(self, article):
        return article.title

    def item_description(self, article):
        return article.summary  # plain text; the feed generator escapes it

    def item_pubdate(self, article):
        return article.published_at or article.updated_at

    def item_updateddate(self, article):
        return article.updated_at

    def item_guid(self, article):
        # Stable across kinds and renames of the prefix: the address conditions had when feeds began.
        return f"{reverse('conditions:index', args=['conditions'])}{article.slug}/"

    item_guid_is_permalink = False


class LatestArticlesAtomFeed(LatestArticlesFeed):
    feed_type = Atom1Feed
    subtitle = LatestArticlesFeed.description
