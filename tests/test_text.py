"""Text as people paste it (issue 19, point 1): stored, indexed and searched in Unicode NFC,
without soft hyphens, zero-width characters or stray byte-order marks, whichever way it
comes in (a source file, the admin form, a query), on both search backends."""

import html as html_module
import re
import unicodedata

import pytest
from django.utils.html import escape

from conditions.importer import import_content
from conditions.models import Article
from conditions.search.documents import clean_query, name_key, parse_query
from conditions.search.highlight import snippet, word_pattern
from conditions.text import INVISIBLE, clean

from .test_editors import ADD_URL, form_data

pytestmark = pytest.mark.django_db

SOFT = "Labyr\u00adin\u00adthi\u00adtis"  # pasted from a word processor
DECOMPOSED = "Sjo\u0308gren\u2019s Syndrome"  # o + COMBINING DIAERESIS


def test_clean_composes_and_removes_only_the_invisible():
    assert clean(SOFT) == "Labyrinthitis"
    assert clean(DECOMPOSED) == "Sj\u00f6gren\u2019s Syndrome" and unicodedata.is_normalized("NFC", clean(DECOMPOSED))
    assert clean("a\u200bb\u200cc\u200dd\u2060e\ufefff") == "abcdef"
    assert clean("Ménière’s disease — “quoted”") == "Ménière’s disease — “quoted”", "visible characters stay"
    assert clean("") == "" and clean(None) is None


def test_an_imported_file_is_stored_clean_and_found_by_the_plain_words(backend, write_source, django_capture_on_commit_callbacks):
    body = (f"## Overview\n\n### What is it?\n\n{SOFT} is an inner-ear infection.\u200b It links to [[bone-marrow-edema]].\n\n"
            "## Key Points\n\n- A test.\n")
    path = write_source("sjogren-test", title=DECOMPOSED, body=body, also_known_as="[\"Sjo\u0308gren\u00ad disease\"]")
    with django_capture_on_commit_callbacks(execute=True):  # the index is updated once the import commits
        report = import_content([path])
    assert not report.errors, report.errors
    article = Article.objects.get(slug="sjogren-test")
    assert article.title == "Sj\u00f6gren\u2019s Syndrome" and article.also_known_as == ["Sj\u00f6gren disease"]
    text = article.sections.get(kind="overview").markdown
    assert "Labyrinthitis is an inner-ear infection." in text and not any(c in text for c in INVISIBLE)
    for query in ("labyrinthitis", "sjogren", "Sjögren", "Sjo\u0308gren", "labyr\u00adinthitis"):
        assert "sjogren-test" in [hit.slug for hit in backend.search(query)[:10]], query


def test_the_admin_stores_pasted_text_clean(client, reviewer):
    client.force_login(reviewer)
    data = form_data(title=DECOMPOSED, summary=f"Inner ear: {SOFT}.", slug="sjogren-test",
                     section_overview=f"### What is it?\n\n{SOFT}, pasted.")
    response = client.post(ADD_URL, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(slug="sjogren-test")
    assert article.title == "Sj\u00f6gren\u2019s Syndrome" and article.summary == "Inner ear: Labyrinthitis."
    assert article.sections.get(kind="overview").markdown.endswith("Labyrinthitis, pasted.")


@pytest.mark.parametrize("field", ["title", "summary"])
def test_a_title_or_summary_of_invisible_characters_only_is_refused_by_name(client, reviewer, field):
    client.force_login(reviewer)
    response = client.post(ADD_URL, form_data(**{field: "\u200b\u00ad\ufeff"}))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert "only invisible characters" in response.context["adminform"].form.errors[field][0]
    assert not Article.objects.filter(slug="quokka-fever").exists()


def test_an_imported_title_of_invisible_characters_only_is_refused(write_source):
    report = import_content([write_source("invisible-title", title="\"\u200b\u00ad\"")])
    assert report.errors and "title" in str(report.errors[0])
    assert not Article.objects.filter(slug="invisible-title").exists()


# -- text as people type it (issue 19, point 2) ------------------------------------------


@pytest.mark.parametrize("curly, straight", [
    ("“bone bruise”", '"bone bruise"'),
    ("„bone bruise“", '"bone bruise"'),
    ("«bone bruise»", '"bone bruise"'),
    ("Cushing’s syndrome", "Cushing's syndrome"),
])
def test_curly_quotes_in_a_query_mean_the_straight_ones(backend, curly, straight):
    assert parse_query(curly) == parse_query(straight)
    assert [hit.slug for hit in backend.search(curly)[:10]] == [hit.slug for hit in backend.search(straight)[:10]]


def test_curly_apostrophes_in_other_names_match_straight_ones():
    assert name_key("Cushing’s Syndrome") == name_key("Cushing's syndrome") == name_key("CUSHING’S SYNDROME") == "cushing syndrome"


@pytest.mark.parametrize("query", ["“”", "‘’", "“ ”  ‘"])
def test_a_query_of_curly_quotes_alone_answers_like_an_empty_query(client, query):
    empty = client.get("/search/", {"q": ""})
    response = client.get("/search/", {"q": query})
    assert response.status_code == empty.status_code == 200
    assert "results" not in response.context and "results" not in empty.context, "nothing searched, as for an empty box"
    assert "have an article on" not in response.content.decode()


def test_highlighting_ignores_accents_both_ways():
    text = "Ménière’s disease affects the inner ear. Meniere described it in 1861."
    assert snippet(text, word_pattern(["meniere"])).count("<mark>") == 2
    assert snippet(text, word_pattern(["Ménière"])).count("<mark>") == 2
    assert "<mark>Sjögren</mark>" in snippet("Sjögren’s syndrome dries the eyes.", word_pattern(["sjogren"]))


def test_a_search_without_accents_marks_and_links_the_accented_section(backend, write_source, django_capture_on_commit_callbacks):
    body = ("## Overview\n\n### What is it?\n\nA test condition of the ear. It links to [[bone-marrow-edema]].\n\n"
            "## Symptoms and Causes\n\n### What causes it?\n\nMénière’s disease comes from fluid in the inner ear.\n\n"
            "## Key Points\n\n- A test.\n")
    with django_capture_on_commit_callbacks(execute=True):
        assert not import_content([write_source("inner-ear-test", title="Inner Ear Test", body=body)]).errors
    for query in ("meniere", "Ménière"):
        hit = next(hit for hit in backend.search(query)[:10] if hit.slug == "inner-ear-test")
        assert hit.section == "symptoms-and-causes" and "<mark>Ménière</mark>" in hit.snippet, (query, hit.section, hit.snippet)


def test_review_findings_other_names_preview_and_printed_address(client, reviewer):
    """A name of invisible characters only is dropped, not stored empty; a name that repeats
    another once cleaned is kept once; the preview is cleaned as the save is."""
    from conditions.models import render_preview
    from conditions.text import clean_all

    assert clean_all(["\u200b", "Fo\u00ado", "Foo", "  Foo  bar "]) == ["Foo", "Foo bar"]
    html = render_preview("See [[osteo\u00adporosis]].")
    assert '<a href="/conditions/osteoporosis/">' in html
    client.force_login(reviewer)
    client.post(ADD_URL, form_data(also_known_as="\u200b\nQF\nQ\u00adF"))
    assert Article.objects.get(slug="quokka-fever").also_known_as == ["QF"]


def test_the_printed_address_is_the_articles_own_whatever_the_query_string(client):
    html = client.get("/conditions/bone-marrow-edema/?Call+0800+FAKE=1").content.decode()
    assert "FAKE" not in html and "http://testserver/conditions/bone-marrow-edema/</p>" in html


@pytest.mark.parametrize("query", [
    "ألم الركبة",  # Arabic, right to left: "knee pain"
    "כאב ברך knee",  # Hebrew then English: mixed directions
    "knee \u202eniap\u202c",  # a right-to-left override inside Latin text
    "боль в колене osteoporosis",  # Cyrillic and Latin
    "膝の痛み hip",  # Japanese (no spaces between words) and Latin
    "ａｃｌ",  # full-width Latin
    "\u200fhip\u200e pain",  # direction marks around a word
])
def test_mixed_scripts_and_right_to_left_queries_answer_200(backend, client, query):
    page = client.get("/search/", {"q": query})
    assert page.status_code == 200
    shown = page.context["query"]
    assert shown and shown == clean_query(query), "the words as typed, without invisible or direction characters"
    html = page.content.decode()
    heading = html_module.unescape(re.search(r"<h1>(.*?)</h1>", html, re.S).group(1))
    assert heading == f"Search results for “{shown}”"
    box = re.search(r'<input id="header-search-q"[^>]*>', html).group(0)
    assert f'value="{escape(shown)}"' in box, "the header box keeps the query"
    latin = any("LATIN" in unicodedata.name(c, "") for c in shown if c.isalpha())
    assert ("Our articles are written in English" in html) == (not latin and not page.context["results"].total)
    assert client.get("/search/suggest/", {"q": query}).status_code == 200
    assert client.get("/api/v1/search/", {"q": query}).status_code == 200
