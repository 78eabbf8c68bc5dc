"""Public pages: structure, anchors, table of contents, links, drafts, 404, query counts."""

import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conditions.kinds import sections_of
from conditions.models import Article, Category, SectionKind

pytestmark = pytest.mark.django_db


class Outline(HTMLParser):
    """Collects ids, headings, links and landmarks of a page."""

    def __init__(self, html):
        super().__init__()
        self.ids, self.links, self.headings, self.tags, self._heading = [], [], [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag in ("h1", "h2", "h3"):
            self._heading = [tag, attrs.get("id"), ""]

    def handle_data(self, data):
        if self._heading:
            self._heading[2] += data

    def handle_endtag(self, tag):
        if self._heading and tag == self._heading[0]:
            self.headings.append(tuple(self._heading))
            self._heading = None


def make_article(slug, status=Article.Status.PUBLISHED, sections=None, **fields):
    article = Article.objects.create(slug=slug, title=fields.pop("title", slug.title()), summary="Summary.", status=status, **fields)
    article.set_sections(sections or {SectionKind.OVERVIEW: "### What is it?\n\nText."})
    return article


@pytest.fixture
def page(client):
    def get(url, status=200):
        response = client.get(url)
        assert response.status_code == status, url
        return response.content.decode(), Outline(response.content.decode())

    return get


def test_model_article_page_structure(page):
    html, outline = page("/conditions/bone-marrow-edema/")
    breadcrumb = re.search(r'<nav class="breadcrumbs" aria-label="Breadcrumb">(.*?)</nav>', html, re.S).group(1)
    names = [unescape(name) for name in re.findall(r">([^<>]+)</a>", breadcrumb)]
    assert names == ["Home", "Health Library", "Diseases & Conditions", "Bone Marrow Edema"]
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert [item["name"] for item in data["breadcrumb"]["itemListElement"]] == names, "one trail feeds the page and the JSON-LD"
    assert [h for h in outline.headings if h[0] == "h1"] == [("h1", "article-title", "Bone Marrow Edema")]
    assert "Also called:" in html
    section_ids = [h[1] for h in outline.headings if h[0] == "h2" and h[1] in SectionKind.values]
    assert section_ids == list(sections_of("condition")), "all nine sections of a condition, in the fixed order"
    questions = [h for h in outline.headings if h[0] == "h3"]
    assert len(questions) >= 5 and all(h[1] and h[2].endswith("?") for h in questions)
    assert ("h3", "what-is-bone-marrow-edema", "What is bone marrow edema?") in questions
    assert len(outline.ids) == len(set(outline.ids)), "anchors are unique"
    toc = re.search(r'<nav class="toc toc--sidebar".*?</nav>', html, re.S).group(0)
    assert re.findall(r'href="#([^"]+)"', toc) == section_ids
    assert '<section class="section key-points"' in html
    assert re.search(r'<section class="section references".*?<ol>\s*<li>', html, re.S)
    assert "Last updated on " in html and "Last reviewed" not in html, "no medical review is recorded, so none is claimed"
    assert "Medically reviewed by" not in html and "Next review due" not in html
    assert "/conditions/osteoarthritis/" in outline.links and "/conditions/avascular-necrosis/" in outline.links
    assert "Related articles" in html
    assert "not a substitute for professional medical advice" in html
    assert 'action="/search/"' in html and 'name="q"' in html


def test_a_review_is_claimed_only_when_recorded_with_its_next_due_date(page, settings):
    import datetime

    Article.objects.filter(slug="osteoporosis").update(reviewed_by="A. Reviewer, MD")
    html, _ = page("/conditions/osteoporosis/")
    assert "Medically reviewed by" not in html and "Last reviewed" not in html, "a name without a date is no recorded review"
    Article.objects.filter(slug="osteoporosis").update(reviewed_on=datetime.date(2026, 3, 1), reviewed_by="A. Reviewer, MD")
    html, _ = page("/conditions/osteoporosis/")
    assert "Last reviewed on March 1, 2026" in html and "Medically reviewed by A. Reviewer, MD" in html
    assert f"Next review due March 1, {2026 + settings.HEALTHLIB_REVIEW_INTERVAL_YEARS}" in html
    assert re.search(r'"lastReviewed": ?"2026-03-01"', html)


def test_the_shipped_articles_claim_no_review():
    assert not Article.objects.filter(reviewed_on__isnull=False).exists()
    assert not Article.objects.exclude(reviewed_by="").exists()


def test_anchors_are_stable_across_renders():
    article = Article.objects.get(slug="osteoporosis")
    before = [s.html for s in article.sections.all()]
    article.render_sections()
    assert [s.html for s in Article.objects.get(slug="osteoporosis").sections.all()] == before


def test_drafts_and_articles_in_review_are_not_public(page):
    make_article("test-draft", status=Article.Status.DRAFT, title="Zzdraft Condition")
    make_article("test-review", status=Article.Status.REVIEW, title="Zzreview Condition")
    page("/conditions/test-draft/", status=404)
    page("/conditions/test-review/", status=404)
    category = Category.objects.get(slug="cancer")
    Article.objects.get(slug="test-draft").categories.add(category)
    for url in ("/", "/conditions/", category.get_absolute_url()):
        html, _ = page(url)
        assert "Zzdraft" not in html and "Zzreview" not in html


def test_unpublishing_hides_article_links_and_related(page):
    article = Article.objects.get(slug="osteoarthritis")
    article.status = Article.Status.DRAFT
    article.save()
    html, outline = page("/conditions/bone-marrow-edema/")
    assert "/conditions/osteoarthritis/" not in outline.links
    assert "osteoarthritis" in html.lower(), "the linked words stay, as plain text"


def test_a_to_z_lists_titles_and_see_entries_one_letter_a_page(page):
    html, outline = page("/conditions/")
    assert '<h2 id="letter-heading">A</h2>' in html
    assert re.search(r'AVN, <i>see</i> <a href="/conditions/avascular-necrosis/">Avascular Necrosis</a>', html)
    assert "/conditions/osteoporosis/" not in outline.links, "other letters are on their own pages"
    assert {"/conditions/letter/o/", "/conditions/letter/b/"} <= set(outline.links)
    html, outline = page("/conditions/letter/o/")
    assert '<h2 id="letter-heading">O</h2>' in html and "/conditions/osteoporosis/" in outline.links
    assert '<a href="/conditions/letter/o/" aria-current="page">O</a>' in html
    assert "/conditions/acute-myeloid-leukemia/" not in outline.links
    assert '<link rel="canonical" href="http://testserver/conditions/letter/o/">' in html
    assert [crumb for crumb in re.findall(r">([^<>]+)</a>", html.split('class="breadcrumbs"')[1].split("</nav>")[0])][-1] == "O"
    page("/conditions/letter/q/", status=404)  # nothing filed under it: the A–Z bar does not link it either
    page("/conditions/letter/zz/", status=404)
    page("/conditions/letter/O/", status=301)
    html, _ = page("/conditions/")
    assert '<link rel="canonical" href="http://testserver/conditions/">' in html, "one address per letter for search engines"
    html, _ = page("/conditions/letter/a/")
    assert '<link rel="canonical" href="http://testserver/conditions/">' in html, "the first letter's address is the kind's own"


def test_home_has_search_letters_categories_and_recent(page):
    html, outline = page("/")
    assert 'name="q"' in html
    assert "/conditions/letter/o/" in outline.links
    assert any(link.startswith("/categories/") for link in outline.links)
    assert "Recently updated" in html


def test_category_page(page):
    html, outline = page("/categories/cancer/")
    assert "/conditions/osteosarcoma/" in outline.links
    assert "/conditions/osteoporosis/" not in outline.links
    page("/categories/no-such-category/", status=404)


def test_friendly_404_with_search_box(page):
    html, _ = page("/no/such/page/", status=404)
    assert "We can’t find that page" in html and 'name="q"' in html


def test_article_page_query_count_is_constant(client, django_assert_num_queries):
    small = make_article("test-small")
    big = make_article(
        "test-big",
        sections={kind: f"### Question {kind}?\n\nSee [[osteoporosis]], [[osteoarthritis]] and [[acl-tear]]." for kind in SectionKind.values},
    )
    big.related.set(Article.objects.exclude(slug__startswith="test-")[:12])
    big.categories.set(Category.objects.all())
    counts = []
    for article in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(article.get_absolute_url()).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 5, counts


def test_the_site_name_is_one_setting(client, settings):
    settings.HEALTHLIB_SITE_NAME = "Mercy Patient Library"
    for url in ("/", "/conditions/", "/conditions/osteoporosis/", "/categories/cancer/", "/search/?q=bone", "/no/such/page/"):
        html = client.get(url).content.decode()
        assert "Health Library" not in html, url
        assert '<meta property="og:site_name" content="Mercy Patient Library">' in html, url
        assert re.search(r"<title>[^<]*Mercy Patient Library</title>", html), url
    assert "Mercy Patient Library" in client.get("/feeds/rss/").content.decode()


def test_favicon_ico_points_at_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.svg")


@pytest.mark.parametrize("path, words", [
    ("/conditions/bone-marow-edma/", "bone marow edma"),
    ("/symptoms/knee_pain/", "knee pain"),
    ("/nothing-here", "nothing here"),
    ("/conditions/m%C3%A9ni%C3%A8re/", "ménière"),
])
def test_the_404_page_fills_its_search_box_with_the_words_of_the_address(client, path, words):
    """Issue 19, point 6: one press searches for what the missing address named."""
    response = client.get(path)
    assert response.status_code == 404
    assert f'id="notfound-search-q" type="search" name="q" value="{words}"' in response.content.decode()


@pytest.mark.parametrize("path", ["/conditions/", "/conditions/letter/a/", "/conditions/letter/b/", "/conditions/bone-marrow-edema/",
                                  "/symptoms/", "/library/"])
def test_the_breadcrumb_never_links_twice_to_the_same_page(client, path):
    """Issue 19, point 6: /conditions/ shows the first letter, so its trail ends at the kind."""
    import re

    html = client.get(path).content.decode()
    trail = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group()
    urls = re.findall(r'href="([^"]+)"', trail)
    pages = {"/conditions/letter/a/": "/conditions/"}  # the same page under two addresses
    assert len({pages.get(url, url) for url in urls}) == len(urls), urls


def test_the_home_a_to_z_enables_every_letter_the_a_to_z_page_files_names_under(client):
    """Issue 19, point 6: other names count (the A–Z page lists them as "see" entries)."""
    import re

    from conditions.models import Article

    article = Article.objects.get(slug="bone-marrow-edema")
    article.also_known_as = [*article.also_known_as, "Quokka knee"]  # the only name under Q
    article.save()
    home = client.get("/").content.decode()
    enabled = set(re.findall(r'href="/conditions/letter/([a-z0-9-]+)/"', home))
    assert "q" in enabled
    for key in enabled:
        assert client.get(f"/conditions/letter/{key}/").status_code == 200


def test_the_a_to_z_page_has_a_back_to_top_link_after_the_letter_group(client):
    html = client.get("/conditions/letter/b/").content.decode()
    group = html[html.index('class="az-group"'):html.index("</section>", html.index('class="az-group"'))]
    assert group.rstrip().endswith('<p class="back-to-top"><a href="#main">Back to top</a></p>')
    assert 'id="main"' in html


def test_the_printed_article_shows_full_addresses_and_the_site(client, settings):
    """Issue 19, point 6: on paper a link's address is read and typed, so it is whole."""
    html = client.get("/conditions/bone-marrow-edema/").content.decode()
    assert '<div class="article__body" style="--site-origin: \'http://testserver\'">' in html
    assert (f'<p class="print-only print-source">{settings.HEALTHLIB_SITE_NAME}: http://testserver/conditions/bone-marrow-edema/</p>'
            in html)
