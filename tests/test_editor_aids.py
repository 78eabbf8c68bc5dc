"""Writing well in the admin (issue 18, points 1 and 3): reading grade and word counts per
section and for the whole article, the list's grade column and filter, the writing guide,
and the error summary of a failed save. The browser side (the grade following the live
preview, the Add image button) is in tests/test_browser.py."""

import pytest

from conditions import readability
from conditions.models import Article

from .test_editors import change_url, form_data

pytestmark = pytest.mark.django_db

EASY = "The bone is sore. It hurts when you walk. Rest helps a lot. Ice can help too."
HARD = ("Osteomyelitis necessitates individualized multidisciplinary antimicrobial administration, frequently intravenously, "
        "accompanied by comprehensive radiological surveillance and interdisciplinary orthopaedic consultation.")


def test_grades_follow_the_published_formulas():
    easy, hard = readability.measure(EASY), readability.measure(HARD)
    assert (easy.words, easy.sentences) == (17, 4)
    # Flesch–Kincaid and SMOG from the counts, as Kincaid et al. (1975) and McLaughlin (1969) give them.
    assert easy.flesch_kincaid == pytest.approx(0.39 * 17 / 4 + 11.8 * easy.syllables / 17 - 15.59)
    assert hard.smog == pytest.approx(1.0430 * (hard.polysyllables * 30 / hard.sentences) ** 0.5 + 3.1291)
    assert easy.flesch_kincaid < readability.GRADE_TARGET < hard.flesch_kincaid and not easy.too_hard and hard.too_hard
    assert hard.flesch_kincaid > 20 and hard.smog > 15


@pytest.mark.parametrize("text", ["", "!!! ??? ... ### --- *** |||", "🦴 → ✓", "Too short."])
def test_too_little_text_gives_no_grade_and_no_error(text):
    stats = readability.measure_markdown(text)
    assert not stats.enough and stats.flesch_kincaid is None and stats.smog is None and not stats.too_hard
    assert stats.as_dict()["flesch_kincaid"] is None


def test_markdown_is_measured_as_the_words_a_patient_reads():
    text = ("### What is it?\n\nSee [[osteoporosis|thinning bones]] and [the NHS](https://example.org/x).\n\n"
            "![An MRI of a knee](/media/images/x/original.png)\n\n| Test | Shows |\n| --- | --- |\n| MRI | Swelling |\n\n- **Rest** helps.")
    words = readability.prose(text).split()
    assert "thinning" in words and "osteoporosis" not in words and "https" not in " ".join(words)
    assert "###" not in words and "|" not in words and "---" not in words and "**Rest**" not in words and "Rest" in words


def test_a_30000_word_section_is_measured_whole():
    # Responsiveness is measured in benchmarks/readability_bench.py, not here.
    stats = readability.measure_markdown((EASY + "\n\n") * 1765)
    assert stats.words == 17 * 1765 and stats.sentences == 4 * 1765


def test_the_form_shows_each_sections_grade_the_whole_articles_and_a_warning_above_grade_8(client, reviewer):
    client.force_login(reviewer)
    html = client.get(change_url(Article.objects.get(slug="bone-marrow-edema"))).content.decode()
    assert 'id="readability-article"' in html and "Whole article:" in html
    assert html.count("Reading grade ") >= 5, "one per section and one for the article"
    assert "Above grade 8" not in html
    article = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="Made up.")
    article.set_sections({"overview": HARD, "key-points": EASY})
    html = client.get(change_url(article)).content.decode()
    assert "Above grade 8: use shorter sentences and everyday words." in html


def test_the_endpoint_measures_what_is_typed(client, editor):
    url = "/admin/conditions/article/readability/"
    assert client.post(url, {"section_overview": EASY}).status_code == 302, "staff only (to the login page)"
    client.force_login(editor)
    assert client.get(url).status_code == 405
    body = client.post(url, {"section_overview": HARD, "section_key_points": "!!! ???", "section_references": EASY * 5}).json()
    assert body["sections"]["section_overview"]["too_hard"] and "Above grade 8" in body["sections"]["section_overview"]["note"]
    assert body["sections"]["section_key_points"]["flesch_kincaid"] is None
    assert "Not enough text" in body["sections"]["section_key_points"]["note"]
    assert "section_references" not in body["sections"], "citations are not graded"
    assert body["article"]["words"] == readability.measure(HARD).words, "nor counted in the whole article"


def test_the_list_has_a_grade_column_and_filter(client, reviewer):
    hard = Article.objects.create(title="Quokka fever", slug="quokka-fever", summary="Made up.")
    hard.set_sections({"overview": HARD})
    empty = Article.objects.create(title="Wombat knee", slug="wombat-knee", summary="Made up.")
    empty.set_sections({"overview": "Short."})
    assert Article.objects.get(slug="quokka-fever").reading_grade > 8 and Article.objects.get(slug="wombat-knee").reading_grade is None
    shipped = Article.objects.get(slug="bone-marrow-edema")
    assert shipped.reading_grade == pytest.approx(
        readability.of_sections({s.kind: s.markdown for s in shipped.sections.all()})[1].flesch_kincaid)
    client.force_login(reviewer)
    html = client.get("/admin/conditions/article/").content.decode()
    assert "Reading grade" in html and f"{shipped.reading_grade:.1f}" in html
    titles = lambda grade: {a.title for a in client.get("/admin/conditions/article/", {"grade": grade}).context["cl"].result_list}  # noqa: E731
    assert "Quokka fever" in titles("hard") and "Bone Marrow Edema" in titles("easy") and titles("none") == {"Wombat knee"}


def test_the_writing_guide_is_beside_the_editor(client, editor):
    client.force_login(editor)
    html = client.get("/admin/conditions/article/add/").content.decode()
    assert "How to write a section" in html
    for example in ("### What causes bone marrow edema?", "[[osteoporosis]]", "[[osteoporosis|thinning bones]]", "Add image", "| --- | --- |"):
        assert example in html, example


def test_a_failed_save_lists_every_error_at_the_top_with_links_to_the_fields(client, reviewer):
    client.force_login(reviewer)
    article = Article.objects.get(slug="bone-marrow-edema")
    data = form_data(article, section_overview="An image: ![](/media/images/x/original.png)", summary="")
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    html = response.content.decode()
    summary = html[html.index('id="error-summary"'):html.index("</div>", html.index('id="error-summary"'))]
    assert 'href="#id_section_overview"' in summary and "alt text" in summary
    assert 'href="#id_summary"' in summary
    assert html.index('id="error-summary"') < html.index('id="id_title"'), "above the form's fields"


def test_blank_lines_cost_linear_time_and_lists_headings_and_rows_end_sentences():
    """Review findings: a run of blank lines once took cubic time in the table-rule pattern;
    a bulleted list was one long sentence; an empty section added a sentence."""
    assert readability.measure_markdown("\n" * 20000 + " \n" * 20000).words == 0  # returns at once
    bullets = readability.measure_markdown("Signs include:\n- Pain in the knee\n- Swelling of the joint\n- Stiff in the morning\n"
                                           "- Trouble walking far\n- Warm skin")
    assert bullets.sentences == 6 and not bullets.too_hard
    table = readability.measure_markdown("### What tests are there?\n\n| Test | Shows |\n| --- | --- |\n| MRI | Swelling in the bone |")
    assert table.sentences == 3  # the heading, the header row, the row
    one = "One short sentence here with thirteen words in it to test the thing."
    assert readability.of_sections({"overview": one, "causes": "", "key-points": ""})[1] == readability.measure(one)
    assert readability.measure("").sentences == 0


@pytest.mark.parametrize("word, count", [("takes", 1), ("used", 1), ("likely", 2), ("boxes", 2), ("needed", 2),
                                         ("osteomyelitis", 5), ("inflammation", 4), ("knee", 1)])
def test_syllables_drop_a_silent_e_and_see_what_hyphenation_leaves_unsplit(word, count):
    assert readability.syllables(word) == count
