"""Every public list page runs a constant number of queries, whatever the number of
articles: each is measured with the shipped articles and again with many more (after
djangoproject.com's ``docs/tests/test_templates.py``)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conditions.models import Article, ArticleSection, Category

pytestmark = pytest.mark.django_db

LIST_PAGES = ["/", "/conditions/", "/conditions/letter/s/", "/categories/bones-joints-muscles/", "/search/?q=synthetic+bone",
              "/feeds/rss/", "/feeds/atom/", "/sitemap.xml", "/api/v1/articles/?page_size=100"]


def add_articles(count):
    """``count`` more published articles, their names spread over the alphabet as real titles are,
    each with sections, a category, two other names and a related article."""
    start = Article.objects.count()
    names = [(chr(ord("A") + n % 26), start + n) for n in range(count)]
    articles = Article.objects.bulk_create(
        Article(title=f"{letter}ynthetic bone condition {n:05d}", slug=f"synthetic-{n:05d}", status="published",
                summary="A synthetic article for counting queries.", also_known_as=[f"{letter}BC {n}", f"{letter}ynthetic {n}"],
                published_title=f"{letter}ynthetic bone condition {n:05d}")
        for letter, n in names
    )
    ArticleSection.objects.bulk_create(
        ArticleSection(article=article, kind=kind, position=position, markdown="Synthetic bone text.", html="<p>Synthetic bone text.</p>")
        for article in articles for position, kind in enumerate(["overview", "key-points"])
    )
    Category.objects.get(slug="bones-joints-muscles").articles.add(*articles)
    Article.related.through.objects.bulk_create(
        Article.related.through(from_article_id=article.pk, to_article_id=Article.objects.get(slug="osteoporosis").pk) for article in articles
    )
    return articles


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("url", LIST_PAGES)
def test_list_pages_run_a_constant_number_of_queries(client, url):
    small = count_queries(client, url)
    add_articles(60)
    large = count_queries(client, url)
    assert small == large, f"{url}: {small} queries with {Article.objects.count() - 60} articles, {large} with 60 more"
    assert large <= 8, f"{url}: {large} queries"


def test_a_to_z_letter_pages_stay_small_at_5000_articles(client):
    add_articles(5000)
    for letter in ("a", "m", "s", "z"):
        response = client.get(f"/conditions/letter/{letter}/")
        html = response.content.decode()
        assert response.status_code == 200
        assert html.count('ynthetic bone condition') >= 192, "every title filed under the letter is listed"
        assert html.count("<i>see</i>") >= 2 * 192, "with its other names as see entries"
        assert len(response.content) < 100_000, f"/conditions/letter/{letter}/ weighs {len(response.content):,} bytes"
