"""Markdown that behaves like everywhere else (issue 18, point 2): CommonMark through
markdown-it-py, GitHub pipe tables as accessible tables, and the library's own rules
(``[[links]]``, heading anchors, library images, the allow-list) on top. The live preview
is this same renderer (``render_preview``)."""

import pytest

from conditions import markdown
from conditions.models import Article, render_preview

pytestmark = pytest.mark.django_db


def render(text):
    return markdown.render(text)


def test_a_list_directly_after_a_paragraph_line_is_a_list():
    html = render("Signs include:\n- pain in the knee\n- swelling\n\nAnd then:\n1. rest\n2. ice")
    assert "<p>Signs include:</p>\n<ul>\n<li>pain in the knee</li>" in html
    assert "<p>And then:</p>\n<ol>\n<li>rest</li>" in html


def test_a_pipe_table_is_an_accessible_table_that_scrolls_on_a_phone():
    html = render("Intro text.\n| Test | What it shows |\n| --- | :-: |\n| MRI | Swelling in the bone |\n| [[x-ray]] | Breaks |")
    assert '<div class="table-scroll" role="region" aria-label="Table" tabindex="0"><table>' in html
    assert '<th scope="col">Test</th>' in html and '<th scope="col">What it shows</th>' in html
    assert "<td>MRI</td>" in html and "style=" not in html, "alignment styles are not kept"
    assert html.count("<tr>") == 3 and html.endswith("</table></div>")


@pytest.mark.parametrize("table", [
    "| a | b |\n| --- | --- |\n| 1 |\n| 1 | 2 | 3 |",  # ragged rows
    "| a |\n| --- |\n",  # a header and no rows
    "| a | b |\n| --- |\n| 1 | 2 |",  # a rule line that does not match: not a table
    "|||\n|-|-|\n|||",
])
def test_ragged_and_odd_tables_render_without_error(table):
    html = render(table)
    assert html and "<script" not in html


def test_ragged_rows_are_padded_and_cut_to_the_header():
    html = render("| a | b |\n| --- | --- |\n| 1 |\n| 1 | 2 | 3 |")
    assert html.count("<td>") == 4 and "<td>3</td>" not in html


@pytest.mark.parametrize("text, expected", [
    ("3. three\n4. four", '<ol start="3">'),
    ("line one  \nline two", "line one<br>\nline two"),
    ("*soft* and **strong**", "<em>soft</em> and <strong>strong</strong>"),
    ("`code` here", "<code>code</code> here"),
    ("1) first\n2) second", "<ol>\n<li>first</li>"),
    ("> A quote.", "<blockquote>\n<p>A quote.</p>\n</blockquote>"),
    ("- a\n\n  continued\n- b", "<li>\n<p>a</p>\n<p>continued</p>\n</li>"),
])
def test_commonmark_behaviour(text, expected):
    assert expected in render(text)


def test_links_headings_and_the_allow_list_still_apply():
    used = set()
    first = markdown.render("### What is it?\n\nSee [[osteoporosis]] and [[no-such-article|this]].", used_ids=used,
                            targets={"osteoporosis": Article.objects.get(slug="osteoporosis")})
    second = markdown.render("### What is it?\n\n<script>alert(1)</script><a href=\"javascript:alert(1)\">x</a>", used_ids=used)
    assert '<h3 id="what-is-it">' in first and '<h3 id="what-is-it-2">' in second, "anchors unique across the page"
    assert '<a href="/conditions/osteoporosis/">Osteoporosis</a>' in first and "and this." in first
    assert "<script" not in second and "javascript:" not in second


def test_the_preview_is_the_pages_own_renderer(client):
    article = Article.objects.get(slug="bone-marrow-edema")
    text = "Signs include:\n- pain\n- swelling\n\n| Test | Shows |\n| --- | --- |\n| MRI | Swelling |"
    sections = {s.kind: s.markdown for s in article.sections.all()}
    article.set_sections({**sections, "key-points": text})
    saved = article.sections.get(kind="key-points").html
    assert render_preview(text) == saved
    assert "<ul>" in saved and '<th scope="col">' in saved
    assert saved in client.get("/conditions/bone-marrow-edema/").content.decode()


def test_a_long_line_of_unclosed_links_renders_in_linear_time():
    """Review finding: a label pattern that ran to the end of the line at every "[[" made a
    long line cost its length squared. (Timed in no test; this one would take minutes.)"""
    html = render("[[a|" * 20000)
    assert html.startswith("<p>[[a|")
    assert markdown.linked_slugs("[[a|" * 20000) == set()
