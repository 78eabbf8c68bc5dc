"""Diagnosis codes (issue 20): ICD-10-CM codes on articles checked against the real code set,
lookups with the hierarchy's fallback, the HL7 Infobutton service (JSON and Atom), JSON-LD,
the admin, and the API's guarantees (ETag, CORS, rate limit, drafts never, one query)."""

import json
import re
import time
from xml.etree import ElementTree

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conditions import codes
from conditions.models import Article, ArticleDraft

from .conftest import same_window
from .test_editors import ADD_URL, change_url, form_data
from .test_importer import run_import

pytestmark = pytest.mark.django_db

OID = "2.16.840.1.113883.6.90"
ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def infobutton(client, response_type="application/json", **params):
    names = {"c": "mainSearchCriteria.v.c", "cs": "mainSearchCriteria.v.cs", "dn": "mainSearchCriteria.v.dn",
             "language": "informationRecipient.languageCode.c"}
    query = {names.get(key, key): value for key, value in params.items()}
    if response_type:
        query["knowledgeResponseType"] = response_type
    return client.get("/infobutton/", query)


# -- the code set ---------------------------------------------------------------------------


@pytest.mark.parametrize("code, stored", [("M81.0", "M81.0"), ("m810", "M81.0"), (" M17 ", "M17"), ("R52", "R52"),
                                          ("s72.001a", "S72.001A"), ("C92.A", "C92.A")])
def test_real_codes_and_categories_are_accepted_in_their_charted_form(code, stored):
    assert codes.validate(code) == stored


@pytest.mark.parametrize("code, nearest", [
    ("M17.7", ["M17", "M17.4", "M17.5", "M17.9"]),  # invented: M17 has no .7
    ("Z99.99", ["Z99", "Z99.3", "Z99.8", "Z99.89"]),
    ("M8I.0", ["M80", "M89.0", "M88.0", "M87.0", "M86.0"]),  # a letter I for the digit 1
    ("H81.41", ["H81.4"]),  # retired: "Vertigo of central origin, right ear" lost its laterality codes
    ("T40.4X1A", ["T40.4", "T40.415A", "T40.416A", "T40.421A", "T40.491A"]),  # retired when T40.4 was split by drug
])
def test_a_code_not_in_the_code_set_is_refused_with_the_nearest_real_ones(code, nearest):
    with pytest.raises(codes.CodeError) as error:
        codes.validate(code)
    assert str(error.value) == f"“{code}” is not in the ICD-10-CM code set (April 2026); the nearest are {', '.join(nearest)}."
    assert all(codes.compact(near) in codes.code_set() for near in nearest)


def test_the_code_set_is_the_packages_and_holds_chapters_of_codes_only():
    real = codes.code_set()
    assert len(real) > 90_000 and {"M810", "M17", "R52", "S72001A"} <= real
    assert not {"13", "M15-M19"} & real, "chapters and blocks are not codes"


# -- articles: the format, the importer, the admin -----------------------------------------


def test_import_reads_codes_and_export_writes_them_back(write_source, tmp_path):
    from django.core.management import call_command

    path = write_source("test-coded", codes="[m17.11, M81.0, M17.11]")
    assert run_import(path)[0] == 0
    article = Article.objects.get(slug="test-coded")
    assert article.codes == ["M17.11", "M81.0"], "charted form, each once, in the editor's order"
    assert sorted(article.code_rows.values_list("code", flat=True)) == ["M1711", "M810"]
    call_command("export_content", str(tmp_path / "out"), stdout=open("/dev/null", "w"))
    assert "\ncodes: [M17.11, M81.0]\n" in (tmp_path / "out" / "test-coded.md").read_text()
    assert "unchanged" in run_import(tmp_path / "out" / "test-coded.md")[1]


@pytest.mark.parametrize("front, message", [
    ({"codes": "[M17.7]"}, "“M17.7” is not in the ICD-10-CM code set (April 2026); the nearest are M17, M17.4, M17.5, M17.9."),
    ({"codes": "[M81..0]"}, "“M81..0” is not an ICD-10-CM code"),
    ({"kind": "test", "codes": "[M81.0]"}, "Only condition and symptom articles carry ICD-10-CM codes"),
    ({"codes": "M81.0"}, "'codes' must be a list of ICD-10-CM codes"),
])
def test_a_bad_code_in_a_file_is_one_clear_line(write_source, front, message):
    path = write_source("test-bad-code", **front)
    status, _, errors = run_import(path)
    line = 6 + list(front).index("codes")  # source_text writes four keys, then these
    assert status == 1 and len(errors) == 1 and errors[0].startswith(f"{path}:{line}: ") and message in errors[0], errors
    assert not Article.objects.filter(slug="test-bad-code").exists()


def test_every_shipped_condition_and_symptom_code_is_real_and_other_kinds_have_none():
    coded = Article.objects.exclude(codes=[])
    assert coded.count() >= 30
    for article in coded:
        assert article.kind_info.is_problem, article.slug
        assert codes.validate_all(article.codes) == article.codes, article.slug
    assert Article.objects.get(slug="osteoporosis").codes == ["M81", "M80"]


def test_editors_enter_codes_as_copied_from_a_chart_and_bad_ones_are_named(client, reviewer):
    client.force_login(reviewer)
    response = client.post(ADD_URL, form_data(codes="m17.11, M81.0\nZ99.99"))
    assert response.status_code == 200
    error = response.context["adminform"].form.errors["codes"][0]
    assert error == "“Z99.99” is not in the ICD-10-CM code set (April 2026); the nearest are Z99, Z99.3, Z99.8, Z99.89."
    assert "m17.11, M81.0\nZ99.99</textarea>" in response.content.decode(), "what the editor typed is kept"
    response = client.post(ADD_URL, form_data(codes="m17.11, M81.0", status="draft"))
    assert response.status_code == 302
    article = Article.objects.get(slug="quokka-fever")
    assert article.codes == ["M17.11", "M81.0"]
    listing = client.get("/admin/conditions/article/", {"code": "M17"}).content.decode()
    assert "Quokka fever" in listing and "Osteoporosis" not in listing, "a category finds the codes under it"
    assert "Osteoporosis" in client.get("/admin/conditions/article/", {"code": "M81"}).content.decode()
    refused = client.post(ADD_URL, form_data(slug="quokka-scan", kind="test", codes="M81.0"))
    assert "carry ICD-10-CM codes" in refused.context["adminform"].form.errors["codes"][0]


def test_pending_code_changes_stay_out_of_lookups_until_published(client, editor, reviewer):
    article = Article.objects.get(slug="osteoporosis")
    client.force_login(editor)
    assert client.post(change_url(article), form_data(article, codes="M81\nM80\nM85.8")).status_code == 302
    assert ArticleDraft.objects.get(article=article).content["codes"] == ["M81", "M80", "M85.8"]
    client.logout()
    assert client.get("/api/v1/codes/", {"code": "M85.81"}).json()["results"][0]["articles"] == [], "the pending code is not live"
    Article.objects.create(title="Secret Draft", slug="secret-draft", summary="s", codes=["M85.8"])
    assert client.get("/api/v1/codes/", {"code": "M85.8"}).json()["results"][0]["articles"] == [], "drafts never answer"


# -- lookups --------------------------------------------------------------------------------


def test_a_code_falls_back_to_its_nearest_ancestor_and_says_which_matched(client):
    data = client.get("/api/v1/codes/", {"code": ["M25.561", "m25551", "M25.571", "M81.0", "Z99.89"]}).json()
    answers = {result["code"]: (result["matched"], [a["slug"] for a in result["articles"]]) for result in data["results"]}
    assert answers == {
        "M25.561": ("M25.56", ["knee-pain"]),  # right knee → pain in knee
        "M25.551": ("M25.55", ["hip-pain"]),
        "M25.571": ("M25.5", ["joint-pain"]),  # ankle: no ankle article, so pain in joint
        "M81.0": ("M81", ["osteoporosis"]),
        "Z99.89": (None, []),  # well-formed, real, and nothing of ours: an empty list
    }
    unknown = client.get("/api/v1/codes/", {"code": ["M81.8", "M17.7", "H81.41"]}).json()["results"]  # one real, one invented, one retired
    assert [(r["code"], r["matched"], len(r["articles"])) for r in unknown] == [("M81.8", "M81", 1), ("M17.7", None, 0), ("H81.41", None, 0)]
    repeated = client.get("/api/v1/codes/", {"code": ["M81.0", "m810", "", "E55.9,"]}).json()["results"]
    assert [r["code"] for r in repeated] == ["M81.0", "M81.0", "E55.9"], "one answer per code asked, empty values ignored"
    assert [result["code"] for result in data["results"]] == ["M25.561", "M25.551", "M25.571", "M81.0", "Z99.89"], "in the order asked"
    first = data["results"][0]["articles"][0]
    assert first["url"] == "http://testserver/symptoms/knee-pain/" and first["title"] == "Knee Pain" and "codes" in first
    assert client.get("/api/v1/codes/", {"code": "M25.561,M81.0"}).json()["results"][1]["matched"] == "M81", "commas work too"


def test_the_most_specific_code_wins(client):
    generic = Article.objects.create(title="Knee Problems", slug="knee-problems", summary="s", status="published", codes=["M17"])
    specific = Article.objects.create(title="Knee Arthritis, One Side", slug="knee-arthritis-one-side", summary="s", status="published",
                                      codes=["M17.1"])
    result = client.get("/api/v1/codes/", {"code": "M17.11"}).json()["results"][0]
    assert (result["matched"], [a["slug"] for a in result["articles"]]) == ("M17.1", [specific.slug])
    result = client.get("/api/v1/codes/", {"code": "M17.0"}).json()["results"][0]
    assert result["matched"] == "M17" and {a["slug"] for a in result["articles"]} == {generic.slug, "osteoarthritis"}


def test_one_query_per_lookup_whatever_the_library_holds(client):
    for n in range(30):
        Article.objects.create(title=f"Coded {n}", slug=f"coded-{n}", summary="s", status="published", codes=[f"M17.{n % 5}"])
    for asked in (["M17.11"], ["M17.11", "M81.0", "E55.9", "R52", "M25.561", "S72.001A", "C92.00"]):
        caches["default"].clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/codes/", {"code": asked}).status_code == 200
        assert len(queries) == 1, [query["sql"] for query in queries]


@pytest.mark.parametrize("params, message", [
    ({}, "'code' is required"),
    ({"code": ""}, "'code' is required"),
    ({"code": "M81..0"}, "'code' value 'M81..0' is not an ICD-10-CM code"),
    ({"code": "M" * 200}, "'code' value 'MMMMMMMMMMMMMMMMMMMM…' is not an ICD-10-CM code"),
    ({"code": "' OR 1=1 --"}, "is not an ICD-10-CM code"),
    ({"code": "<script>alert(1)</script>"}, "is not an ICD-10-CM code"),
    ({"code": "M81.0\x00"}, "is not an ICD-10-CM code"),
    ({"code": ["M81.0"] * 21}, "'code' is given 21 codes; ask for at most 20 at once."),
])
def test_bad_codes_are_a_400_naming_the_parameter(client, params, message):
    response = client.get("/api/v1/codes/", params)
    assert response.status_code == 400 and message in response.json()["error"]
    assert response["Access-Control-Allow-Origin"] == "*"


def test_lookups_have_the_apis_guarantees(client, settings):
    response = client.get("/api/v1/codes/", {"code": "M81.0"})
    assert response["Access-Control-Allow-Origin"] == "*" and response["ETag"]
    assert client.get("/api/v1/codes/", {"code": "M81.0"}, headers={"if-none-match": response["ETag"]}).status_code == 304
    # No Last-Modified: an article leaving the answer would not move it, and a date revalidation would keep it.
    assert "Last-Modified" not in response and "Last-Modified" not in infobutton(client, c="M81.0", cs=OID)
    Article.objects.filter(slug="osteoporosis").update(status="draft")
    assert client.get("/api/v1/codes/", {"code": "M81.0"}, headers={"if-none-match": response["ETag"]}).status_code == 200
    empty = {"mainSearchCriteria.v.c": "Z99.89", "mainSearchCriteria.v.cs": OID}
    etag = client.get("/infobutton/", empty)["ETag"]
    time.sleep(1.1)
    assert client.get("/infobutton/", empty, headers={"if-none-match": etag}).status_code == 304, "an empty feed is the same feed a second later"
    preflight = client.options("/infobutton/")
    assert preflight.status_code == 204 and "GET" in preflight["Access-Control-Allow-Methods"]
    caches["default"].clear()
    settings.HEALTHLIB_API_RATE_LIMIT = "2/60"
    same_window(60)
    statuses = [client.get("/infobutton/", {"mainSearchCriteria.v.c": "M81.0", "mainSearchCriteria.v.cs": OID}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# -- Infobutton -----------------------------------------------------------------------------


def test_infobutton_json_answers_up_to_three_articles_for_a_code(client):
    data = infobutton(client, c="M25.561", cs=OID).json()
    assert data["codes"] == [{"code": "M25.561", "matched": "M25.56"}] and data["matched_by"] == "code"
    assert data["code_system"] == OID and data["language"] == "en" and data["note"] is None
    (article,) = data["articles"]
    assert set(article) == {"slug", "kind", "title", "url", "summary", "also_known_as", "codes", "reviewed_on", "updated_at"}
    assert article["title"] == "Knee Pain" and article["url"].endswith("/symptoms/knee-pain/")
    many = infobutton(client, c="C40.0", cs=OID).json()  # bone cancer of a limb: three sarcoma articles share C40
    assert len(many["articles"]) == 3 and many["codes"][0]["matched"] == "C40"
    both = infobutton(client, c=["M81.0", "E55.9"], cs=OID).json()
    assert [code["matched"] for code in both["codes"]] == ["M81", "E55"]
    assert [a["slug"] for a in both["articles"]] == ["osteoporosis", "vitamin-d-deficiency"]


@pytest.mark.parametrize("name, slug", [
    ("Vitamin D deficiency, unspecified", "vitamin-d-deficiency"),
    ("Age-related osteoporosis without current pathological fracture", "osteoporosis"),
    ("Unilateral primary osteoarthritis, right knee", "osteoarthritis"),
    ("Pain in right knee", "knee-pain"),
])
def test_infobutton_finds_the_article_for_an_official_icd_10_cm_title(client, name, slug):
    data = infobutton(client, c="Z99.89", cs=OID, dn=name).json()  # a code of ours that matches nothing, then the title
    assert data["matched_by"] == "display_name" and data["articles"][0]["slug"] == slug


def test_infobutton_reads_indexed_criteria_and_any_language_tag(client):
    data = infobutton(client, c="E55.9", cs=OID, **{"mainSearchCriteria.v.c1": "M81.0", "mainSearchCriteria.v.cs1": OID}).json()
    assert [code["matched"] for code in data["codes"]] == ["E55", "M81"]
    assert [a["slug"] for a in data["articles"]] == ["vitamin-d-deficiency", "osteoporosis"]
    zero = infobutton(client, **{"mainSearchCriteria.v.c0": "M81.0", "mainSearchCriteria.v.cs0": OID}).json()
    assert zero["articles"][0]["slug"] == "osteoporosis"
    refused = infobutton(client, c="E55.9", cs=OID, **{"mainSearchCriteria.v.c1": "64859006", "mainSearchCriteria.v.cs1": "2.16.840.1.113883.6.96"})
    assert refused.status_code == 400 and "'mainSearchCriteria.v.cs1' must be 2.16.840.1.113883.6.90" in refused.json()["error"]
    for tag in ("es-419", "zh-Hant-TW", "en_US", "pt-BR"):
        answer = infobutton(client, c="M81.0", cs=OID, language=tag).json()
        assert answer["articles"] and (answer["note"] is None) == tag.startswith("en"), tag
    assert infobutton(client, c="M81.0", cs=OID, response_type="").status_code == 200, "an empty response type is the default"


def test_a_display_name_search_counts_against_the_search_limits_only_when_it_runs(client, settings):
    caches["default"].clear()
    settings.HEALTHLIB_SEARCH_RATE_LIMIT = "1/60"
    same_window(60)
    assert [infobutton(client, c="M81.0", cs=OID, dn="Osteoporosis").status_code for _ in range(3)] == [200] * 3, "a code matched"
    assert [infobutton(client, dn="Osteoporosis").status_code for _ in range(2)] == [200, 429]


def test_infobutton_searches_the_display_name_when_no_code_matches(client):
    data = infobutton(client, c="Z99.89", cs=OID, dn="osteoporosis").json()
    assert data["codes"] == [{"code": "Z99.89", "matched": None}]
    assert data["matched_by"] == "display_name" and data["articles"][0]["slug"] == "osteoporosis"
    alone = infobutton(client, dn="Vitamin D deficiency").json()
    assert alone["code_system"] is None and alone["articles"][0]["slug"] == "vitamin-d-deficiency"
    nothing = infobutton(client, dn="xyzzy quux").json()
    assert nothing["articles"] == [] and nothing["matched_by"] is None, "no article with every word: none"


def test_infobutton_echoes_the_name_as_sent_and_searches_each_criterions_name(client):
    data = infobutton(client, c="Z99.89", cs=OID, dn="Age-related osteoporosis without current pathological fracture").json()
    assert data["display_name"] == "Age-related osteoporosis without current pathological fracture"
    both = infobutton(client, dn="Pain in left hip", **{"mainSearchCriteria.v.dn1": "Low back pain, unspecified"}).json()
    assert {"hip-pain", "back-pain"} <= {a["slug"] for a in both["articles"]}, "the second name is searched too"


def test_lookups_answer_without_the_trailing_slash_with_cors(client):
    for url in ("/api/v1/codes", "/infobutton", "/api/v1/infobutton"):
        response = client.get(url, {"code": "M81.0", "mainSearchCriteria.v.c": "M81.0", "mainSearchCriteria.v.cs": OID,
                                    "knowledgeResponseType": "application/json"}, headers={"origin": "https://portal.example.org"})
        assert response.status_code == 200 and response["Access-Control-Allow-Origin"] == "*", url


def test_infobutton_says_only_english_is_available(client):
    data = infobutton(client, c="M81.0", cs=OID, language="es").json()
    assert data["language"] == "en" and data["note"].startswith("Only English is available") and data["articles"]
    for english in ("EN-us", "eng", "en_GB"):
        assert infobutton(client, c="M81.0", cs=OID, language=english).json()["note"] is None, english


def test_infobutton_atom_is_a_valid_atom_feed(client):
    response = infobutton(client, response_type=None, c="M25.561", cs=OID)  # text/xml is the default, as in MedlinePlus Connect
    assert response.status_code == 200 and response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = ElementTree.fromstring(response.content)
    # RFC 4287, section 4.1.1: one atom:id, atom:title and atom:updated; an atom:author (or one in each entry).
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{ATOM}{name}")) == 1, name
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "Health Library"
    assert RFC3339.match(feed.find(f"{ATOM}updated").text)
    assert feed.find(f"{ATOM}link[@rel='self']") is not None
    (entry,) = feed.findall(f"{ATOM}entry")
    # Section 4.1.2: one id, title and updated; a link rel="alternate" as there is no content; a summary.
    for name in ("id", "title", "updated", "summary"):
        assert len(entry.findall(f"{ATOM}{name}")) == 1, name
    assert entry.find(f"{ATOM}title").text == "Knee Pain" and RFC3339.match(entry.find(f"{ATOM}updated").text)
    assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").endswith("/symptoms/knee-pain/")
    assert entry.find(f"{ATOM}id").text.startswith("http://")  # an IRI (section 4.2.6)
    categories = [(c.get("term"), c.get("scheme")) for c in entry.findall(f"{ATOM}category")]
    assert categories == [("M25.56", f"urn:oid:{OID}")]
    names = [e.text for e in entry.findall("{https://schema.org/}alternateName")]
    assert names == Article.objects.get(slug="knee-pain").also_known_as
    assert "Patient education" in feed.find(f"{ATOM}subtitle").text
    controlled = infobutton(client, response_type="text/xml", dn="\x1eOsteo\x11porosis \x00")  # control characters: XML has no room
    assert controlled.status_code == 200 and ElementTree.fromstring(controlled.content).find(f"{ATOM}title").text.endswith("Osteo porosis")
    noted = ElementTree.fromstring(infobutton(client, response_type="text/xml", c="M81.0", cs=OID, language="fr").content)
    assert noted.find(f"{ATOM}subtitle").text.startswith("Only English is available")


@pytest.mark.parametrize("params, message", [
    ({"knowledgeResponseType": "text/html", "mainSearchCriteria.v.c": "M81.0", "mainSearchCriteria.v.cs": OID}, "'knowledgeResponseType'"),
    ({"mainSearchCriteria.v.c": "M81.0"}, "'mainSearchCriteria.v.cs' must be 2.16.840.1.113883.6.90"),
    ({"mainSearchCriteria.v.c": "M81.0", "mainSearchCriteria.v.cs": "2.16.840.1.113883.6.103"}, "the request sent '2.16.840.1.113883.6.103'"),
    ({"mainSearchCriteria.v.c": "M81..0", "mainSearchCriteria.v.cs": OID}, "'mainSearchCriteria.v.c' value 'M81..0'"),
    ({"mainSearchCriteria.v.c": "x" * 200, "mainSearchCriteria.v.cs": OID}, "'mainSearchCriteria.v.c' value"),
    ({}, "Send 'mainSearchCriteria.v.c'"),
    ({"mainSearchCriteria.v.dn": "knee", "informationRecipient.languageCode.c": "<script>"}, "'informationRecipient.languageCode.c'"),
    ({"mainSearchCriteria.v.dn": "knee " * 100}, "'mainSearchCriteria.v.dn' is 499 characters long; send the diagnosis's name in at most 400"),
])
def test_infobutton_bad_parameters_are_a_400_naming_them(client, params, message):
    response = client.get("/infobutton/", params)
    assert response.status_code == 400 and message in response.json()["error"], response.content


def test_json_ld_and_the_api_carry_the_codes(client):
    html = client.get("/conditions/osteoporosis/").content.decode()
    data = json.loads(html.split('type="application/ld+json">', 1)[1].split("</script>", 1)[0])
    assert data["about"]["code"] == [{"@type": "MedicalCode", "codeValue": "M81", "codingSystem": "ICD-10-CM"},
                                     {"@type": "MedicalCode", "codeValue": "M80", "codingSystem": "ICD-10-CM"}]
    assert client.get("/api/v1/articles/osteoporosis/").json()["codes"] == ["M81", "M80"]
    assert client.get("/api/v1/articles/mri/").json()["codes"] == []
