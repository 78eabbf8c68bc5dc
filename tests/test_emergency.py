"""Emergency signs (issue 19, point 4): front matter ``emergency``, the box under the summary,
JSON-LD, the API, the admin and its workflow, and the emergency number as one setting."""

import html as html_module
import io
import json
import re

import pytest
from django.core.management import call_command

from conditions.content_format import ArticleSource, dump, parse
from conditions.models import Article, ArticleDraft

from .test_editors import ADD_URL, add_and_publish, change_url, form_data
from .test_importer import run_import

pytestmark = pytest.mark.django_db

# Shipped articles the issue names, and every symptom article: each lists its emergency signs.
MUST_HAVE_SIGNS = ["septic-arthritis", "osteomyelitis", "compression-fracture", "hip-dislocation", "charcot-foot",
                   "acute-myeloid-leukemia"]


def structured_data(html):
    return json.loads(html.split('type="application/ld+json">', 1)[1].split("</script>", 1)[0])


def box(html):
    """The emergency box's heading and its list items, as text."""
    match = re.search(r'<section class="emergency".*?</section>', html, re.S)
    if match is None:
        return None
    heading = re.search(r"<h2[^>]*>(.*?)</h2>", match.group(0), re.S).group(1)
    return html_module.unescape(heading), [html_module.unescape(item) for item in re.findall(r"<li>(.*?)</li>", match.group(0))]


def test_import_reads_the_list_and_export_writes_it_back(write_source, tmp_path):
    path = write_source("test-fever-joint", emergency='["A hot, red, swollen joint with a fever", "Sudden\u00ad weakness in both legs"]')
    assert run_import(path)[:1] == (0,)
    article = Article.objects.get(slug="test-fever-joint")
    assert article.emergency_signs == ["A hot, red, swollen joint with a fever", "Sudden weakness in both legs"], "cleaned as pasted"
    out = tmp_path / "export"
    call_command("export_content", str(out), stdout=io.StringIO())
    exported = (out / "test-fever-joint.md").read_text()
    assert 'emergency: ["A hot, red, swollen joint with a fever", Sudden weakness in both legs]\n' in exported
    assert parse(out / "test-fever-joint.md").emergency == article.emergency_signs
    status, printed, _ = run_import(out / "test-fever-joint.md")
    assert status == 0 and "1 unchanged" in printed
    # An article without signs writes no emergency line (shipped files stay as they are).
    assert "emergency:" not in (out / "osteoarthritis.md").read_text()


def test_the_shipped_articles_that_need_them_list_emergency_signs():
    symptoms = list(Article.objects.filter(kind=Article.Kind.SYMPTOM).values_list("slug", flat=True))
    assert len(symptoms) >= 6
    for slug in [*MUST_HAVE_SIGNS, *symptoms]:
        signs = Article.objects.get(slug=slug).emergency_signs
        assert 2 <= len(signs) <= 10, slug
    kinds_with_signs = set(Article.objects.exclude(emergency_signs=[]).values_list("kind", flat=True))
    assert kinds_with_signs <= {Article.Kind.CONDITION, Article.Kind.SYMPTOM}


def test_the_box_sits_under_the_summary_before_the_contents(client):
    article = Article.objects.get(slug="septic-arthritis")
    html = client.get(article.get_absolute_url()).content.decode()
    heading, items = box(html)
    assert heading == "Call 911 or go to the emergency room if you have:"
    assert items == [str(sign) for sign in article.emergency_signs]
    summary, emergency, contents = (html.index('class="article__summary"'), html.index('class="emergency"'), html.index('class="toc'))
    assert summary < emergency < contents
    assert 'aria-labelledby="emergency-title"' in html and 'id="emergency-title"' in html
    assert box(client.get("/conditions/osteoarthritis/").content.decode()) is None, "no box without signs"


def test_json_ld_lists_the_signs(client):
    article = Article.objects.get(slug="osteomyelitis")
    data = structured_data(client.get(article.get_absolute_url()).content.decode())
    assert [sign["name"] for sign in data["about"]["signOrSymptom"]] == article.emergency_signs
    assert {sign["@type"] for sign in data["about"]["signOrSymptom"]} == {"MedicalSignOrSymptom"}
    part = data["hasPart"][0]
    assert part["hasHealthAspect"] == ["https://schema.org/SeeDoctorHealthAspect"]
    assert part["url"].endswith("/conditions/osteomyelitis/#emergency-title")
    plain = structured_data(client.get("/conditions/osteoarthritis/").content.decode())
    assert "signOrSymptom" not in plain["about"]


def test_the_emergency_number_is_one_setting(client, settings):
    settings.HEALTHLIB_EMERGENCY_NUMBER = "999"
    html = client.get("/conditions/hip-dislocation/").content.decode()
    assert box(html)[0] == "Call 999 or go to the emergency room if you have:"
    assert "In an emergency, call 999 (or your local emergency number)" in " ".join(html.split())
    assert "Call 999 or go" in structured_data(html)["hasPart"][0]["name"]
    for url in ("/", "/search/?q=knee", "/no/such/page/"):
        page = " ".join(client.get(url).content.decode().split())
        assert "call 999" in page and "911" not in page, url


def test_api_lists_the_signs(client):
    detail = client.get("/api/v1/articles/charcot-foot/").json()
    assert detail["emergency_signs"] == Article.objects.get(slug="charcot-foot").emergency_signs
    assert client.get("/api/v1/articles/mri/").json()["emergency_signs"] == []


def test_other_kinds_are_refused_with_the_field_named(write_source, client, reviewer):
    test_kind = write_source("test-scan", kind="test", emergency="[Fever]")
    status, _, errors = run_import(test_kind)
    assert status == 1 and errors == [f"{test_kind}:7: Only condition and symptom articles list emergency signs; "
                                      "a test article has none of its own (remove them)."]
    client.force_login(reviewer)
    response = client.post(ADD_URL, form_data(kind="test", slug="quokka-scan", emergency_signs="Fever"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "has none of its own" in errors["emergency_signs"][0]
    assert not Article.objects.filter(slug="quokka-scan").exists()
    too_long = client.post(ADD_URL, form_data(emergency_signs="x" * 121))
    assert "keep each to a short phrase of at most 120" in too_long.context["adminform"].form.errors["emergency_signs"][0]


def test_a_stored_sign_on_another_kind_is_never_shown(client):
    article = Article.objects.get(slug="mri")
    Article.objects.filter(pk=article.pk).update(emergency_signs=["Fever"])  # as an old row or a raw write might
    html = client.get(article.get_absolute_url()).content.decode()
    assert box(html) is None and "signOrSymptom" not in html


def test_editors_change_them_as_unpublished_changes_with_history(client, editor, reviewer):
    client.force_login(reviewer)
    article = add_and_publish(client, emergency_signs="Fever with a hot joint\nCannot move the leg")
    assert article.emergency_signs == ["Fever with a hot joint", "Cannot move the leg"]
    assert box(client.get(article.get_absolute_url()).content.decode())[1] == article.emergency_signs
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    assert "Fever with a hot joint\nCannot move the leg</textarea>" in page, "the form shows one sign per line"
    response = client.post(change_url(article), form_data(article, emergency_signs="Fever with a hot joint\nChest pain"))
    assert response.status_code == 302
    assert ArticleDraft.objects.get(article=article).content["emergency_signs"] == ["Fever with a hot joint", "Chest pain"]
    assert box(client.get(article.get_absolute_url()).content.decode())[1] == ["Fever with a hot joint", "Cannot move the leg"], \
        "the live page keeps the reviewed signs"
    client.force_login(reviewer)
    preview = client.get(f"/admin/conditions/article/{article.pk}/preview-changes/").content.decode()
    assert box(preview)[1] == ["Fever with a hot joint", "Chest pain"]
    for step in ("_submit_changes", "_publish_changes"):
        client.post(change_url(article), form_data(article, emergency_signs="Fever with a hot joint\nChest pain", **{step: "1"}))
    article.refresh_from_db()
    assert article.emergency_signs == ["Fever with a hot joint", "Chest pain"]
    history = client.get(f"/admin/conditions/article/{article.pk}/history/").content.decode()
    first = re.findall(r"/history/(\d+)/compare/", history)[-1]
    compare = client.get(f"/admin/conditions/article/{article.pk}/history/{first}/compare/").content.decode()
    assert "<th scope=\"row\">Emergency signs</th>" in compare and "Chest pain</ins>" in compare


def test_restoring_a_version_from_before_the_field_keeps_the_signs(client, reviewer):
    import reversion
    from reversion.models import Version

    client.force_login(reviewer)
    article = Article.objects.get(slug="septic-arthritis")
    signs = list(article.emergency_signs)
    with reversion.create_revision():
        article.save()
    version = Version.objects.get_for_object(article).first()
    data = json.loads(version.serialized_data)
    del data[0]["fields"]["emergency_signs"]  # as saved before migration 0014
    data[0]["fields"]["summary"] = "The summary as it was before."
    Version.objects.filter(pk=version.pk).update(serialized_data=json.dumps(data))
    response = client.post(f"/admin/conditions/article/{article.pk}/history/{version.pk}/restore/", {"version": article.version})
    assert response.status_code == 302
    draft = ArticleDraft.objects.get(article=article)  # a live article's restore waits for review
    assert draft.content["summary"] == "The summary as it was before."
    assert draft.content["emergency_signs"] == signs, "a version without the field keeps the article's signs"


def test_a_kind_without_emergency_signs_keeps_none():
    article = Article.objects.get(slug="knee-pain")
    article.kind = Article.Kind.TEST  # as a restored version or an old draft might, past the form's check
    article.save()
    assert Article.objects.get(pk=article.pk).emergency_signs == []
    Article.objects.filter(slug="mri").update(emergency_signs=["Fever"])  # a raw write
    source = ArticleSource.from_article(Article.objects.get(slug="mri"))
    assert source.emergency == [] and "emergency:" not in dump(source), "the export stays importable"


def test_signs_pasted_as_a_list_lose_their_markers_and_repeats(client, reviewer):
    client.force_login(reviewer)
    pasted = "- Fever with a hot joint.\n• Cannot move the leg\n2. Chest pain\n* fever with a hot joint\n\n"
    assert client.post(ADD_URL, form_data(emergency_signs=pasted)).status_code == 302
    assert Article.objects.get(slug="quokka-fever").emergency_signs == ["Fever with a hot joint", "Cannot move the leg", "Chest pain"]
    page = client.get(ADD_URL).content.decode()
    assert re.search(r'<textarea name="emergency_signs" cols="80" rows="6" class="vLargeTextField"', page), "room for a sign a line"
