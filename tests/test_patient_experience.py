"""Every public page, as patients, assistive technology, search engines and feed readers meet it.

In-process checks (titles, meta, canonical, Open Graph, JSON-LD, sitemap, robots.txt,
feeds, compression and page weight, HTML validity with the Nu HTML Checker) and
real-browser checks in Chromium (axe-core, keyboard, zoom, reduced motion, tap targets,
print, no third-party requests).
"""

import datetime
import gzip
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from conditions.feeds import FEED_SIZE
from conditions.models import Article, SectionKind

from .conftest import NODE_MODULES, require_tool

PAGES = {
    "home": "/",
    "a-z": "/conditions/",
    "category": "/categories/bones-joints-muscles/",
    "article": "/conditions/bone-marrow-edema/",
    "library": "/library/",
    "tests-a-z": "/tests/",
    "symptom": "/symptoms/knee-pain/",
    "emergency-signs": "/conditions/septic-arthritis/",
    "test": "/tests/mri/",
    "treatment": "/treatments/nsaids/",
    "body": "/body/bone-marrow/",
    "search": "/search/?q=knee+swelling",
    "zero-results": "/search/?q=xyzzyqwv",
    "not-found": "/conditions/no-such-page/",
}
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


def head(html):
    return html.split("</head>", 1)[0]


def meta(html, attribute, name):
    match = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', html)
    return match.group(1) if match else None


def structured_data(html):
    return [json.loads(block) for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)]


# -- search engines and sharing ---------------------------------------------------


@pytest.mark.django_db
def test_every_page_has_a_unique_title_description_canonical_and_open_graph(client):
    titles = set()
    for name, url in PAGES.items():
        response = client.get(url)
        html = response.content.decode()
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
        assert title and title not in titles, f"{name}: title {title!r} is not unique"
        titles.add(title)
        assert meta(html, "name", "description"), name
        assert re.search(r'<link rel="canonical" href="http://testserver/[^"?]*">', html), name
        for prop in ("og:title", "og:description", "og:type", "og:url", "og:site_name"):
            assert meta(html, "property", prop), f"{name}: {prop}"
    article = Article.objects.get(slug="bone-marrow-edema")
    html = client.get(PAGES["article"]).content.decode()
    assert meta(html, "name", "description") == article.summary
    assert meta(html, "property", "og:type") == "article" and meta(html, "property", "og:title") == article.title
    assert "Disallow: /search/" in client.get("/robots.txt").content.decode(), "search pages stay out of crawls"


@pytest.mark.django_db
def test_article_json_ld_describes_a_medical_web_page(client):
    article = Article.objects.get(slug="bone-marrow-edema")
    (data,) = structured_data(client.get(PAGES["article"]).content.decode())
    assert data["@context"] == "https://schema.org" and data["@type"] == "MedicalWebPage"
    assert data["about"] == {"@type": "MedicalCondition", "name": article.title, "alternateName": article.also_known_as}
    assert "lastReviewed" not in data and "reviewedBy" not in data, "no medical review is recorded, so none is claimed"
    kinds = [s.kind for s in article.sections.all() if s.kind != SectionKind.REFERENCES]
    assert [part["url"].rsplit("#", 1)[1] for part in data["hasPart"]] == kinds
    assert all(part["@type"] == "HealthTopicContent" and part["hasHealthAspect"] for part in data["hasPart"])
    assert "https://schema.org/SymptomsHealthAspect" in data["hasPart"][1]["hasHealthAspect"]
    crumbs = data["breadcrumb"]
    assert crumbs["@type"] == "BreadcrumbList" and crumbs["itemListElement"][-1]["item"] == "http://testserver/conditions/bone-marrow-edema/"
    Article.objects.filter(pk=article.pk).update(reviewed_by="A. Reviewer, MD", reviewed_on=datetime.date(2026, 3, 1))
    (data,) = structured_data(client.get(PAGES["article"]).content.decode())
    assert data["reviewedBy"] == {"@type": "Person", "name": "A. Reviewer, MD"} and data["lastReviewed"] == "2026-03-01"


@pytest.mark.django_db
def test_json_ld_cannot_be_closed_by_article_text(client):
    Article.objects.filter(slug="bone-marrow-edema").update(title='Edema </script><script>alert(1)</script>', also_known_as=["<!--x"])
    html = client.get(PAGES["article"]).content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and json.loads(block)["name"].startswith("Edema </script>")
    assert "<script>alert(1)" not in html


@pytest.mark.django_db
def test_sitemap_and_robots(client):
    draft = Article.objects.get(slug="osteomalacia")
    draft.status = Article.Status.DRAFT
    draft.save()
    sitemap = client.get("/sitemap.xml")
    assert sitemap.status_code == 200
    tree = ElementTree.fromstring(sitemap.content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    entries = {url.find("s:loc", ns).text: url.find("s:lastmod", ns) for url in tree.findall("s:url", ns)}
    assert "http://testserver/conditions/bone-marrow-edema/" in entries
    assert entries["http://testserver/conditions/bone-marrow-edema/"] is not None, "lastmod"
    assert "http://testserver/conditions/osteomalacia/" not in entries, "drafts stay out"
    assert "http://testserver/" in entries and "http://testserver/categories/bones-joints-muscles/" in entries
    robots = client.get("/robots.txt").content.decode()
    assert "Disallow: /admin/" in robots and "Disallow: /search/" in robots
    assert "Sitemap: http://testserver/sitemap.xml" in robots


@pytest.mark.django_db
@pytest.mark.parametrize("url, kind", [("/feeds/rss/", "rss"), ("/feeds/atom/", "atom")])
def test_feeds_list_new_and_updated_published_articles(client, url, kind):
    draft = Article.objects.get(slug="osteomalacia")
    draft.status = Article.Status.DRAFT
    draft.save()
    response = client.get(url)
    assert response.status_code == 200
    tree = ElementTree.fromstring(response.content)
    if kind == "rss":
        links = [item.find("link").text for item in tree.iter("item")]
    else:
        atom = "{http://www.w3.org/2005/Atom}"
        links = [entry.find(f"{atom}link").get("href") for entry in tree.iter(f"{atom}entry")]
    assert "http://testserver/conditions/bone-marrow-edema/" in links
    assert not any("osteomalacia" in link for link in links)
    assert len(links) == min(FEED_SIZE, Article.objects.published().count())


# -- weight -----------------------------------------------------------------------


@pytest.mark.django_db
def test_article_page_fits_the_50_kb_budget_compressed(client):
    response = client.get(PAGES["article"], headers={"accept-encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    html = response.content
    assets = re.findall(rb'(?:href|src)="/static/([^"]+\.(?:css|js))"', gzip.decompress(html))
    total = len(html) + sum(len(gzip.compress(Path(finders.find(a.decode())).read_bytes())) for a in assets)
    print(f"article page: {len(html)} B HTML + assets = {total} B compressed")
    assert assets and total <= 50 * 1024
    resources = re.findall(rb'<(?:script|img|link rel="(?:stylesheet|preload|icon)")[^>]*?(?:src|href)="([^"]+)"', gzip.decompress(html))
    assert resources and not [r for r in resources if re.match(rb"(?:https?:)?//", r)], "no third-party resources"


# -- valid HTML ---------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_are_valid_html(client, tmp_path):
    vnu = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
    require_tool(vnu.exists() and shutil.which("java"), "the Nu HTML Checker (npm vnu-jar) and Java")
    files = []
    for name, url in PAGES.items():
        path = tmp_path / f"{name}.html"
        path.write_bytes(client.get(url).content)
        files.append(str(path))
    result = subprocess.run(["java", "-jar", str(vnu), "--format", "json", "--exit-zero-always", *files],
                            capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}" for m in messages if m["type"] == "error"]
    assert not errors, "\n".join(errors)


# -- in the browser -------------------------------------------------------------------

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_axe_finds_no_accessibility_violations(browser, site):
    axe = NODE_MODULES / "axe-core" / "axe.min.js"
    require_tool(axe.exists(), "axe-core (npm)")
    problems = []
    for width in (360, 1280):
        # axe is injected as an inline script, which the site's CSP rightly refuses.
        page = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True).new_page()
        for name, url in PAGES.items():
            page.goto(site + url)
            page.add_script_tag(path=str(axe))
            result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
            for violation in result["violations"]:
                targets = [node["target"] for node in violation["nodes"]][:3]
                problems.append(f"{name} @{width}px: {violation['id']} ({violation['impact']}): {violation['help']} {targets}")
        page.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_structure_keyboard_zoom_and_motion(browser, site):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for name, url in PAGES.items():
        page.goto(site + url)
        assert page.evaluate("document.documentElement.lang") == "en", name
        assert page.locator("h1").count() == 1, name
        for landmark in ("header", "nav", "search", "main", "footer"):
            assert page.locator(landmark).count() >= 1, f"{name}: <{landmark}>"
    page.goto(site + PAGES["article"])
    # The skip link is the first stop, visible when focused, and moves focus to <main>.
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link" and skip.is_visible()
    assert skip.evaluate("(e) => getComputedStyle(e).outlineStyle") != "none", "visible focus"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Keyboard only: tab to a contents link and follow it.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.toc--sidebar') !== null"):
            break
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#overview"
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash === '#overview'")
    # Text zoom to 200%: nothing cut off, no sideways scrolling.
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert page.locator("h1").is_visible() and page.locator("#header-search-q").is_visible()
    page.close()
    # Reduced motion: no smooth scrolling.
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    page.goto(site + PAGES["article"])
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "auto"
    context.close()
    page = browser.new_page()
    page.goto(site + PAGES["article"])
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "smooth"
    page.close()


TAP_TARGETS = """() => Array.from(document.querySelectorAll('a, button, input, summary, select, textarea'))
  .filter((e) => e.offsetParent !== null && !e.closest('p, li.result p, td, .article__body p, .article__body li, .disclaimer'))
  .map((e) => { const r = e.getBoundingClientRect(); return {what: e.outerHTML.slice(0, 80), w: r.width, h: r.height}; })
  .filter((r) => r.w < 24 || r.h < 24)"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_phone_width_tap_targets_and_no_sideways_scrolling(browser, site):
    page = browser.new_page(viewport={"width": 360, "height": 780})
    ARTIFACTS.mkdir(exist_ok=True)
    for name, url in PAGES.items():
        page.goto(site + url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, name
        small = page.evaluate(TAP_TARGETS)
        assert not small, f"{name}: tap targets under 24 px: {small[:5]}"
        page.screenshot(path=ARTIFACTS / f"{name}-360.png", full_page=False)
    page.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_article_prints_cleanly(browser, site):
    page = browser.new_page()
    page.goto(site + PAGES["article"])
    page.emulate_media(media="print")
    for chrome in (".site-header", ".site-footer nav", ".breadcrumbs", ".toc--compact", ".toc--sidebar", ".search-form"):
        assert page.locator(chrome).first.evaluate("(e) => getComputedStyle(e).display") == "none", chrome
    for kept in ("h1", "#overview", "#references", ".key-points", ".disclaimer"):
        assert page.locator(kept).first.is_visible(), kept
    link = page.locator(".article__body a[href^='/conditions/']").first
    assert "/conditions/" in link.evaluate("(e) => getComputedStyle(e, '::after').content")
    ARTIFACTS.mkdir(exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "article-print.pdf"))
    page.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_article_makes_no_third_party_requests(browser, site):
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(site + PAGES["article"], wait_until="networkidle")
    assert requested and all(url.startswith(site) for url in requested), requested
    page.close()
