"""Five kinds of article (condition, symptom, test, treatment, body): sections as data per kind,
addresses, breadcrumbs, structured data, the A–Z per kind, the API, the admin and the importer."""

import json
import re

import pytest

from conditions.content_format import ContentError, parse
from conditions.kinds import KINDS, sections_of
from conditions.models import Article, SectionKind

from .test_editors import change_url, form_data
from .test_query_counts import count_queries

ONE_OF_EACH = {"condition": "bone-marrow-edema", "symptom": "knee-pain", "test": "mri", "treatment": "nsaids", "body": "bone-marrow"}
ABOUT = {"bone-marrow-edema": "MedicalCondition", "knee-pain": "MedicalSignOrSymptom", "mri": "ImagingTest", "nsaids": "Drug",
         "core-decompression": "SurgicalProcedure", "bone-marrow": "AnatomicalStructure", "skeletal-system": "AnatomicalSystem",
         "inflammation-blood-tests": "BloodTest"}
pytestmark = pytest.mark.django_db


def test_each_kind_lists_its_sections_in_the_one_order_with_key_points_and_references_last():
    for info in KINDS.values():
        assert list(info.sections) == sorted(info.sections, key=SectionKind.position)
        assert info.sections[-2:] == (SectionKind.KEY_POINTS, SectionKind.REFERENCES)
    assert [SectionKind(s).label for s in sections_of("test")] == ["Overview", "Test Details", "Results and Follow-Up", "Risks",
                                                                    "Key Points", "References"]


# -- the importer ---------------------------------------------------------------------


def test_a_section_of_another_kind_is_an_error_naming_the_kinds_headings(write_source):
    path = write_source("quokka-scan", kind="test", body="## Overview\n\nA scan.\n\n## Possible Causes\n\nNone.\n")
    with pytest.raises(ContentError) as error:
        parse(path)
    message = str(error.value)
    assert ":12:" in message and "'## Possible Causes' belongs to symptom articles, not test" in message
    assert "test articles have: Overview, Test Details, Results and Follow-Up, Risks, Key Points, References" in message


def test_an_unknown_kind_and_a_schema_type_of_another_kind_are_errors(write_source):
    with pytest.raises(ContentError, match="unknown kind 'scan'; use one of: condition, symptom, test, treatment, body"):
        parse(write_source("quokka-scan", kind="scan"))
    with pytest.raises(ContentError, match="schema_type 'Drug' does not fit a test article; use one of: MedicalTest, ImagingTest"):
        parse(write_source("quokka-scan", kind="test", schema_type="Drug"))


# -- pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, slug", ONE_OF_EACH.items())
def test_each_kind_has_its_own_address_breadcrumbs_and_structured_data(client, kind, slug):
    info = KINDS[kind]
    response = client.get(f"/{info.path}/{slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    article = Article.objects.get(slug=slug)
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html).group(1))
    names = [item["name"] for item in data["breadcrumb"]["itemListElement"]]
    assert names == ["Home", "Health Library", str(info.plural), article.title]
    assert data["about"]["@type"] == ABOUT[slug]
    headings = re.findall(r'<h2 id="([a-z-]+)"', html)
    assert [h for h in headings if h in SectionKind.values] == [s for s in info.sections if article.sections.filter(kind=s).exists()]
    assert f'<p class="kind-label">{article.get_kind_display()}</p>' in html


@pytest.mark.parametrize("slug", sorted(ABOUT))
def test_json_ld_about_type_follows_the_article(client, slug):
    article = Article.objects.get(slug=slug)
    html = client.get(article.get_absolute_url()).content.decode()
    assert f'"about":{{"@type":"{ABOUT[slug]}"' in html


def test_a_medicines_procedure_details_read_how_it_works(client):
    html = client.get("/treatments/nsaids/").content.decode()
    assert '<h2 id="procedure-details">How It Works</h2>' in html


@pytest.mark.parametrize("wrong", ["conditions", "symptoms", "treatments", "body"])
def test_an_article_under_another_kinds_prefix_moves_permanently_to_its_own(client, wrong):
    response = client.get(f"/{wrong}/mri/?utm=x")
    assert response.status_code == 301 and response["Location"] == "/tests/mri/"
    assert client.get("/tests/no-such-test/").status_code == 404
    assert client.get("/scans/mri/").status_code == 404


def test_each_kind_has_an_a_to_z_and_the_library_and_home_browse_by_kind(client):
    for kind, info in KINDS.items():
        html = client.get(f"/{info.path}/").content.decode()
        group = html.split('class="az-group"')[1].split("</section>")[0]
        assert set(re.findall(r'href="/([a-z]+)/[a-z0-9-]+/"', group)) == {info.path}, f"the {kind} A–Z lists only {kind} articles"
    assert '<a href="/tests/letter/m/"' in client.get("/tests/").content.decode()
    assert "MRI" in client.get("/tests/letter/m/").content.decode()
    assert client.get("/tests/letter/q/").status_code == 404
    for page in ("/", "/library/"):
        html = client.get(page).content.decode()
        for info in KINDS.values():
            assert f'href="/{info.path}/"' in html, (page, info.path)
        assert 'href="/categories/' in html


def test_links_point_at_the_right_prefix_and_follow_a_kind_change(client, django_capture_on_commit_callbacks):
    html = client.get("/conditions/bone-marrow-edema/").content.decode()
    assert 'href="/tests/mri/"' in html and 'href="/treatments/nsaids/"' in html and 'href="/body/bone-marrow/"' in html
    mri = Article.objects.get(slug="mri")
    mri.kind, mri.schema_type = "treatment", ""
    with django_capture_on_commit_callbacks(execute=True):
        mri.save()
    assert 'href="/treatments/mri/"' in client.get("/conditions/bone-marrow-edema/").content.decode()


@pytest.mark.parametrize("kind, slug", ONE_OF_EACH.items())
def test_article_page_queries_stay_constant_for_every_kind(client, kind, slug):
    count = count_queries(client, Article.objects.get(slug=slug).get_absolute_url())
    assert count == count_queries(client, "/conditions/osteoporosis/")


def test_feeds_and_sitemap_carry_every_kind(client):
    sitemap = client.get("/sitemap.xml").content.decode()
    for info in KINDS.values():
        assert f"/{info.path}/</loc>" in sitemap
    assert "/tests/mri/</loc>" in sitemap and "/tests/letter/m/</loc>" in sitemap
    rss = client.get("/feeds/rss/").content.decode()
    assert len({kind for kind in re.findall(r"<link>http://testserver/([a-z]+)/", rss)}) >= 3


# -- the API ---------------------------------------------------------------------------


def test_the_api_filters_by_kind_and_names_it(client):
    data = client.get("/api/v1/articles/", {"kind": "test", "page_size": 100}).json()
    assert data["count"] == Article.objects.published().filter(kind="test").count() >= 9
    assert {item["kind"] for item in data["results"]} == {"test"}
    mri = next(item for item in data["results"] if item["slug"] == "mri")
    assert mri["schema_type"] == "ImagingTest" and mri["url"] == "http://testserver/tests/mri/"
    error = client.get("/api/v1/articles/", {"kind": "scan"})
    assert error.status_code == 400 and error.json()["valid"] == ["condition", "symptom", "test", "treatment", "body"]
    openapi = client.get("/api/v1/openapi.json").json()
    params = {p["name"] for p in openapi["paths"]["/articles/"]["get"]["parameters"]}
    assert "kind" in params and "kind" in openapi["components"]["schemas"]["Article"]["properties"]


# -- the admin ---------------------------------------------------------------------------


def test_the_admin_form_shows_the_kinds_sections_and_refuses_a_kind_change_that_would_orphan_text(client, reviewer):
    client.force_login(reviewer)
    mri = Article.objects.get(slug="mri")
    html = client.get(change_url(mri)).content.decode()
    assert 'name="section_test_details"' in html and 'name="section_symptoms_and_causes"' not in html
    before = {s.kind: s.markdown for s in mri.sections.all()}
    response = client.post(change_url(mri), form_data(mri, kind="symptom"))
    assert response.status_code == 200
    assert "A symptom article has no Test Details, Results and Follow-Up, Risks sections" in response.content.decode()
    mri.refresh_from_db()
    assert mri.kind == "test" and {s.kind: s.markdown for s in mri.sections.all()} == before, "nothing was saved or dropped"
    add = client.get("/admin/conditions/article/add/?kind=body").content.decode()
    assert 'name="section_function"' in add and 'name="section_living_with"' not in add
    listing = client.get("/admin/conditions/article/?kind__exact=symptom").content.decode()
    assert "Knee Pain" in listing and "Osteoporosis" not in listing
