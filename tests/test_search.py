"""Site search, held to one set of expectations for every backend (parametrized).

The relevance cases are realistic patient queries over the shipped articles: typos,
plurals, British spellings, abbreviations, possessives and lay terms.
"""

import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.paginator import Paginator
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conditions.models import Article
from conditions.search import get_backend
from conditions.search.base import Deadline, SearchTooComplex
from conditions.search.documents import (
    MAX_PHRASE_WORDS,
    MAX_PHRASES,
    MAX_QUERY_WORDS,
    SearchDocument,
    clean_query,
    normalize_query,
    parse_query,
    query_words,
)
from conditions.search.whoosh import WhooshSearchBackend

pytestmark = pytest.mark.django_db

RELEVANCE = [
    ("bone marrow edema", "bone-marrow-edema"), ("bone marow edema", "bone-marrow-edema"),
    ("bone marrow oedema", "bone-marrow-edema"), ("bone bruise", "bone-marrow-edema"),
    ("BME", "bone-marrow-edema"), ("transient osteoporosis of the hip", "bone-marrow-edema-syndrome"),
    ("torn ACL", "acl-tear"), ("acl", "acl-tear"), ("anterior cruciate ligament", "acl-tear"),
    ("knee ligament tear", "acl-tear"), ("Cushing's", "cushing-syndrome"), ("cushings syndrome", "cushing-syndrome"),
    ("AVN", "avascular-necrosis"), ("osteonecrosis", "avascular-necrosis"), ("bone death", "avascular-necrosis"),
    ("avascular necrossis", "avascular-necrosis"), ("high cholesterol", "hyperlipidemia"),
    ("hyperlipidaemia", "hyperlipidemia"), ("cholesterol", "hyperlipidemia"), ("oedema", "bone-marrow-edema"),
    ("brittle bones", "osteoporosis"), ("osteoporsis", "osteoporosis"), ("thin bones", "osteoporosis"),
    ("wear and tear arthritis", "osteoarthritis"), ("osteoarthritis", "osteoarthritis"),
    ("bone infection", "osteomyelitis"), ("osteomyelitis", "osteomyelitis"), ("infected joint", "septic-arthritis"),
    ("leukaemia", "acute-myeloid-leukemia"), ("AML", "acute-myeloid-leukemia"), ("blood cancer", "acute-myeloid-leukemia"),
    ("bone cancer in children", "osteosarcoma"), ("ewings sarcoma", "ewing-sarcoma"), ("Ewing's sarcoma", "ewing-sarcoma"),
    ("cancer spread to bone", "bone-metastasis"), ("bone mets", "bone-metastasis"), ("chondrosarcoma", "chondrosarcoma"),
    ("water on the knee", "joint-effusion"), ("swollen knee", "joint-effusion"), ("stress fractures", "stress-fracture"),
    ("shin stress fracture", "stress-fracture"), ("spine compression fracture", "compression-fracture"),
    ("dislocated hip", "hip-dislocation"), ("CRPS", "complex-regional-pain-syndrome"),
    ("reflex sympathetic dystrophy", "complex-regional-pain-syndrome"), ("low vitamin D", "vitamin-d-deficiency"),
    ("vitamin d deficiency", "vitamin-d-deficiency"), ("soft bones", "osteomalacia"), ("rickets adults", "osteomalacia"),
    ("overactive parathyroid", "hyperparathyroidism"), ("CKD-MBD", "ckd-mineral-bone-disorder"),
    ("kidney bone disease", "ckd-mineral-bone-disorder"), ("renal osteodystrophy", "ckd-mineral-bone-disorder"),
    ("mast cell disease", "mastocytosis"), ("RA", "rheumatoid-arthritis"), ("rheumatoid arthritis", "rheumatoid-arthritis"),
    ("psoriatic arthritis", "psoriatic-arthritis"), ("PsA", "psoriatic-arthritis"), ("ankylosing spondylitis", "ankylosing-spondylitis"),
    ("SI joint pain", "sacroiliitis"), ("tendonitis", "tendinopathy"), ("tendinitis", "tendinopathy"),
    ("Charcot foot", "charcot-foot"), ("diabetic foot bones collapse", "charcot-foot"), ("enthesitis", "enthesitis"),
]

HOSTILE = [
    "", "   ", "AND", "OR NOT AND", '"unbalanced', "((bone", "bone)", "title:bone", "slug:x", "*", "?", "~", "^",
    "bone*", "bo?e", "bone~2", "bone^10", "\\", "\\\\x", "bone\x00marrow", "🦴💀", "骨髓水肿", "отёк костного мозга",
    "<script>alert(1)</script>", "x" * 10_000, "a " * 3000, "NOT bone", '"" "" ""', "{}[]", "%00", "'; DROP TABLE--",
]


@pytest.mark.parametrize("query, slug", RELEVANCE, ids=[q for q, _ in RELEVANCE])
def test_relevance_expected_article_in_top_three(backend, query, slug):
    top = [hit.slug for hit in backend.search(query)[:3]]
    assert slug in top, top


@pytest.mark.parametrize("query, slug", [("bone marrow edema", "bone-marrow-edema"), ("osteoporosis", "osteoporosis"),
                                         ("AVN", "avascular-necrosis"), ("Cushing's syndrome", "cushing-syndrome")])
def test_exact_title_or_other_name_ranks_first(backend, query, slug):
    assert backend.search(query)[0].slug == slug


def test_matched_name_and_section_snippet(backend):
    hit = backend.search("torn ACL")[0]
    assert (hit.slug, hit.matched_name) == ("acl-tear", "Torn ACL")
    hit = backend.search("osteonecrosis")[0]
    assert hit.matched_name == "Osteonecrosis"
    assert "<mark>" in hit.snippet and hit.section and hit.section_label


def test_did_you_mean(backend):
    assert backend.spelling("osteoporsis") == "osteoporosis"
    assert backend.spelling("bone marow edema") == "bone marrow edema"
    assert backend.spelling("osteoporosis") == ""


@pytest.mark.parametrize("prefix, expected", [
    ("oste", ["Osteoarthritis", "Osteomalacia", "Osteomyelitis", "Osteoporosis", "Osteosarcoma"]),
    ("avn", ["Avascular Necrosis"]),
    ("cush", ["Cushing Syndrome"]),
])
def test_autocomplete(backend, prefix, expected):
    titles = [s.title for s in backend.autocomplete(prefix)]
    assert titles[: len(expected)] == expected
    assert len(titles) <= 8


def test_autocomplete_reports_the_matched_name(backend):
    (suggestion,) = backend.autocomplete("avn")
    assert (suggestion.url, suggestion.matched) == ("/conditions/avascular-necrosis/", "AVN")


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_get_a_normal_page(backend, client, query):
    for url in ("/search/", "/search/suggest/"):
        response = client.get(url, {"q": query, "page": "-3"})
        assert response.status_code in (200, 400)
        assert b"<script>alert(1)</script>" not in response.content


def test_repeated_q_huge_page_and_unknown_category(backend, client):
    response = client.get("/search/?q=bone&q=<b>x</b>&page=99999999999999999999&category=nope")
    assert response.status_code == 200
    assert client.get("/search/?q=bone&category=%00").status_code == 200
    assert "Search results for “bone”" in response.content.decode()


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_no_text_makes_search_fail(backend, text):
    backend.search(text)
    backend.autocomplete(text)
    backend.spelling(text)


def test_results_page_pagination_and_category_filter(backend, client):
    html = client.get("/search/", {"q": "bone"}).content.decode()
    assert "page 1 of" in html and 'rel="next"' in html
    assert "Body system" in html and "Type of article" in html and "Cancer (" in html
    filtered = client.get("/search/", {"q": "bone", "category": "cancer"}).content.decode()
    assert "in Cancer" in filtered and "/conditions/osteoporosis/" not in filtered


def test_zero_results_page_is_friendly(backend, client):
    html = client.get("/search/", {"q": "qqqzzzxxx"}).content.decode()
    assert "We found no articles" in html and "/library/" in html and "/categories/" in html


def test_did_you_mean_link_on_results_page(backend, client):
    html = client.get("/search/", {"q": "osteoporsis"}).content.decode()
    # Results already for the corrected words say so; otherwise the correction is offered.
    lead = "Showing results for" if backend.search("osteoporsis").fuzzy else "Did you mean:"
    assert f'{lead} <a href="?q=osteoporosis">osteoporosis</a>' in html


def test_suggest_json(backend, client):
    data = client.get("/search/suggest/", {"q": "oste"}).json()
    assert data["results"][0] == {"title": "Osteoarthritis", "url": "/conditions/osteoarthritis/", "matched": ""}


def test_publishing_editing_unpublishing_and_deleting_update_the_index(backend, django_capture_on_commit_callbacks):
    article = Article.objects.get(slug="osteoporosis")
    with django_capture_on_commit_callbacks(execute=True):
        article.title = "Osteoporosis Zebrafinch"
        article.save()
    assert backend.search("zebrafinch")[0].slug == "osteoporosis"
    assert backend.search("zebrafinch").total > 1, "pages linking to it show its new title, and are found by it"
    with django_capture_on_commit_callbacks(execute=True):
        article.status = Article.Status.DRAFT
        article.save()
    assert "osteoporosis" not in {hit.slug for hit in backend.search("zebrafinch")[:10]}
    assert "osteoporosis" not in backend.indexed_hashes(), "drafts are never indexed"
    with django_capture_on_commit_callbacks(execute=True):
        article.status = Article.Status.PUBLISHED
        article.save()
    assert backend.search("zebrafinch")[0].slug == "osteoporosis"
    with django_capture_on_commit_callbacks(execute=True):
        article.delete()
    assert "osteoporosis" not in {hit.slug for hit in backend.search("zebrafinch")[:10]}
    assert not backend.search("zebrafinch").total, "deleted: the links to it became its slug's words, indexed again"


def test_index_update_waits_for_commit(backend, django_capture_on_commit_callbacks, monkeypatch):
    from conditions.search import signals

    calls = []
    update_index = signals.update_index
    monkeypatch.setattr(signals, "update_index", lambda *slugs: (calls.append(slugs), update_index(*slugs)))
    article = Article.objects.get(slug="osteomalacia")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        article.title = "Osteomalacia Quokka"
        article.save()
        article.set_sections({section.kind: section.markdown + " " for section in article.sections.all()})
        assert backend.search("quokka").total == 0, "nothing indexed before the commit"
    for callback in callbacks:
        callback()
    assert len(calls) == 1 and "osteomalacia" in calls[0], "one index update however many rows changed"
    linking = {article.slug for article in Article.objects.published().linking_to_any(["osteomalacia"])}
    assert {"osteomalacia"} < set(calls[0]) <= {"osteomalacia"} | linking, "with the live pages whose links now show its new title"
    assert backend.search("quokka")[0].slug == "osteomalacia"


def test_failed_index_update_is_logged_and_keeps_the_save(backend, django_capture_on_commit_callbacks, caplog, monkeypatch):
    monkeypatch.setattr(type(backend), "add_bulk", lambda self, docs: (_ for _ in ()).throw(OSError("disk full")))
    article = Article.objects.get(slug="sacroiliitis")
    with django_capture_on_commit_callbacks(execute=True):
        article.summary = "Changed summary."
        article.save()
    assert Article.objects.get(slug="sacroiliitis").summary == "Changed summary."
    assert "rebuild_index" in caplog.text and "disk full" in caplog.text


def test_drift_check_reports_missing_stale_and_extra(tmp_path, settings, capsys):
    backend = WhooshSearchBackend(tmp_path / "index")
    articles = list(Article.objects.published().prefetch_related("sections", "categories"))
    backend.rebuild(SearchDocument.from_article(a) for a in articles)
    assert set(backend.indexed_hashes()) == {a.slug for a in articles}
    backend.delete("osteoporosis")
    stale = SearchDocument.from_article(articles[1])
    backend.add(SearchDocument(**{**stale.__dict__, "summary": "old text"}))
    backend.add(SearchDocument(**{**stale.__dict__, "slug": "ghost-article"}))
    settings.HEALTHLIB_SEARCH_OPTIONS = {"path": tmp_path / "index"}
    get_backend.cache_clear()
    try:
        with pytest.raises(CommandError) as error:
            call_command("rebuild_index", "--check")
        out = capsys.readouterr().out
        assert "missing: osteoporosis" in out and f"stale: {articles[1].slug}" in out and "extra: ghost-article" in out
        assert error.value.returncode == 1
        call_command("rebuild_index")
        call_command("rebuild_index", "--check")
        assert "Index matches the database" in capsys.readouterr().out
    finally:
        get_backend.cache_clear()


def test_rebuild_swaps_atomically_and_search_answers_throughout(tmp_path):
    backend = WhooshSearchBackend(tmp_path / "index")
    documents = [SearchDocument.from_article(a) for a in Article.objects.published().prefetch_related("sections", "categories")]
    backend.rebuild(documents)
    first_dir = os.readlink(backend.current_link)
    answers = []

    def progress(n):  # mid-rebuild: the old index still answers
        answers.append(backend.search("osteoporosis").total)

    backend.rebuild(documents, progress)
    assert answers and all(total > 0 for total in answers)
    assert os.readlink(backend.current_link) != first_dir
    assert not (tmp_path / "index" / first_dir).exists(), "the retired index is removed"
    assert backend.search("osteoporosis")[0].slug == "osteoporosis"


PARALLEL_BUILD = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "healthlib.settings.test"
django.setup()
from conditions.search.whoosh import WhooshSearchBackend
from conditions.search.documents import SearchDocument
WhooshSearchBackend(sys.argv[1]).rebuild([
    SearchDocument(slug=f"doc-{n}", title=f"Condition {n} quokkaitis" if n == 217 else f"Condition {n}", url=f"/conditions/doc-{n}/",
                   summary="A made-up summary.", aka=(f"Alias {n}",), categories=("bones-joints-muscles",),
                   sections=(("overview", f"Overview text number {n} about knees."),))
    for n in range(350)
], processes=2)
"""


def test_parallel_rebuild_in_child_processes_stays_searchable(tmp_path):
    # Over 100 documents, batches go to Whoosh's multiprocessing writer (forked children,
    # so it runs in a fresh single-threaded process, as rebuild_index does).
    env = {**os.environ, "HEALTHLIB_TEST_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-c", PARALLEL_BUILD, str(tmp_path / "index")], env=env, cwd=settings.BASE_DIR, check=True, timeout=300)
    backend = WhooshSearchBackend(tmp_path / "index")
    assert len(list((tmp_path / "index" / os.readlink(backend.current_link)).glob("*.seg"))) > 1, "segments from the child processes"
    assert len(backend.indexed_hashes()) == 350
    assert backend.search("quokkaitis")[0].slug == "doc-217"
    assert backend.search("knees").total == 350
    assert backend.search("knees", category="bones-joints-muscles").total == 350
    assert backend.spelling("quokaitis") == "quokkaitis"
    assert backend.autocomplete("alias 21")[0].matched.startswith("Alias 21")
    backend.delete("doc-217")
    assert backend.search("quokkaitis").total == 0 and not backend.autocomplete("condition 217 q")


WRITER = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "healthlib.settings.test"
django.setup()
from conditions.search.whoosh import WhooshSearchBackend
from conditions.search.documents import SearchDocument
backend = WhooshSearchBackend(sys.argv[1])
name = sys.argv[2]
for n in range(25):
    backend.add(SearchDocument(slug=f"{name}-{n}", title=f"{name} {n}", url="/", summary="s", aka=(), categories=(), sections=()))
"""


def test_two_processes_writing_at_once_lose_no_update(tmp_path):
    backend = WhooshSearchBackend(tmp_path / "index")
    backend.reset_index()
    env = {**os.environ, "HEALTHLIB_TEST_DATA_DIR": str(tmp_path / "data")}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "index"), name], env=env, cwd=settings.BASE_DIR)
             for name in ("alpha", "beta")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert set(backend.indexed_hashes()) == {f"{name}-{n}" for name in ("alpha", "beta") for n in range(25)}


def test_missing_index_gives_friendly_page(client, tmp_path, settings):
    settings.HEALTHLIB_SEARCH_OPTIONS = {"path": tmp_path / "nothing-here"}
    get_backend.cache_clear()
    try:
        response = client.get("/search/", {"q": "bone"})
        assert response.status_code == 503
        assert "Search is temporarily unavailable" in response.content.decode()
        assert client.get("/conditions/osteoporosis/").status_code == 200
        assert client.get("/search/suggest/", {"q": "os"}).status_code == 503
    finally:
        get_backend.cache_clear()


def test_import_updates_the_index_once_at_the_end(write_source, monkeypatch, django_capture_on_commit_callbacks):
    from conditions.importer import import_content

    backend = get_backend()
    calls = []
    original = type(backend).add_bulk
    monkeypatch.setattr(type(backend), "add_bulk", lambda self, docs: calls.append(len(docs)) or original(self, docs))
    write_source("quokka-fever", title="Quokka Fever")
    path = write_source("wombat-cough", title="Wombat Cough")
    with django_capture_on_commit_callbacks(execute=True):
        report = import_content([path.parent])
    assert sorted(report.created) == ["quokka-fever", "wombat-cough"]
    assert calls == [2], "one batch for the whole import"
    assert backend.search("wombat cough")[0].slug == "wombat-cough"


def test_postgres_two_pass_ranking_for_broad_queries(backend, monkeypatch):
    if "postgres" not in type(backend).__module__:
        pytest.skip("PostgreSQL backend only")
    from conditions.search import postgres

    full = [hit.slug for hit in backend.search("bone pain")[:10]]
    monkeypatch.setattr(postgres, "FULL_RANK_LIMIT", 12)  # "bone pain" matches far more than 12 articles
    monkeypatch.setattr(postgres, "PARTIAL_RANK_LIMIT", 12)
    two_pass = backend.search("bone pain")
    top = two_pass[:10]
    assert two_pass.total > 12 and len(top) == 10
    assert backend.search("bone marrow edema")[0].slug == "bone-marrow-edema", "exact names still rank first"
    assert {hit.slug for hit in top[:3]} & set(full[:5]), "the best of the cheap pass are fully ranked"
    assert two_pass[10:20], "pages past the limit fall back to full ranking"


# -- bounded cost: normalisation and the time budget -----------------------------------

REPEATED_PHRASE = '"' + ("bone " * 40).strip() + '"'  # ~200 characters, one word repeated
TOO_COMPLEX = "That search is too complex to answer quickly. Try fewer words, or remove quotation marks."


@pytest.mark.parametrize("raw, normalised", [
    (REPEATED_PHRASE, "bone"),
    ("Bone bone BONE bóne Cushing's cushing", "Bone Cushing's"),
    ('"bone marrow bone marrow edema" "Bone Marrow edema"', '"bone marrow edema"'),
    ('"knee" knee pain', "knee pain"),
    ('"one two three four five six seven eight"', '"one two three four five six"'),
    ('"a1 b1" "a2 b2" "a3 b3" "a4 b4"', '"a1 b1" "a2 b2" "a3 b3" a4 b4'),
    ('"one two three four five six" seven eight nine ten eleven twelve thirteen', '"one two three four five six" seven eight nine ten eleven twelve'),
    ("w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 \"p1 p2 p3\"", "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 p1"),
    ("wear and tear and arthritis Arthritis", "wear and tear arthritis"),
    ("β2 α2 β2", "β2 α2"),
    ('"unbalanced quote', "unbalanced quote"),
    ("!?()[]{}*~^:" * 16, ""),
    ("x" * 300, "x" * 50),
])
def test_queries_are_normalised_before_they_cost_anything(raw, normalised):
    assert clean_query(raw) == normalised


def test_the_repeated_200_character_phrase_is_one_word_to_every_backend():
    assert len(REPEATED_PHRASE) >= 200
    assert query_words(REPEATED_PHRASE) == ([], ["bone"])


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["bone", "Bone", "BÓNE", "pain", '"', " ", "and", "knee's", "é"]), st.text(max_size=12)),
                max_size=60).map("".join))
def test_normalised_queries_respect_every_cap(text):
    parts = parse_query(text)
    phrases = [part for part in parts if isinstance(part, tuple)]
    words = [part for part in parts if isinstance(part, str)]
    assert len(words) + sum(map(len, phrases)) <= MAX_QUERY_WORDS, "phrase words count in the cap"
    assert len(phrases) <= MAX_PHRASES and all(2 <= len(phrase) <= MAX_PHRASE_WORDS for phrase in phrases)
    assert len({word.casefold() for word in words}) == len(words) and len(set(phrases)) == len(phrases), "no repeats"
    assert normalize_query(normalize_query(text)) == normalize_query(text), "normalising twice changes nothing"
    assert len(clean_query(text) or "") <= 200


def test_repeated_phrase_searches_as_its_word(backend, client):
    assert [hit.slug for hit in backend.search(REPEATED_PHRASE)[:10]] == [hit.slug for hit in backend.search("bone")[:10]]
    response = client.get("/search/", {"q": REPEATED_PHRASE})
    assert response.status_code == 200 and "Search results for “bone”" in response.content.decode()
    assert client.get("/api/v1/search/", {"q": REPEATED_PHRASE}).json()["query"] == "bone"


def test_out_of_time_search_is_too_complex_never_a_500(backend, client, settings):
    settings.HEALTHLIB_SEARCH_TIME_BUDGET = 1e-9
    with pytest.raises(SearchTooComplex):
        backend.search("bone pain")
    response = client.get("/search/", {"q": "bone pain"})
    assert response.status_code == 422
    assert TOO_COMPLEX in response.content.decode() and "/library/" in response.content.decode()
    api = client.get("/api/v1/search/", {"q": "bone pain"})
    assert api.status_code == 422 and api.json() == {"error": TOO_COMPLEX}
    assert api["Access-Control-Allow-Origin"] == "*"


def test_out_of_time_spelling_gives_no_suggestion_rather_than_fail(backend):
    assert backend._spelling("osteoporsis", Deadline(1e-9)) == ""
    assert backend._spelling("osteoporsis", Deadline()) == "osteoporosis"


def test_whoosh_out_of_time_while_scoring_shows_the_best_found(backend, client, monkeypatch):
    if "whoosh" not in type(backend).__module__:
        pytest.skip("PostgreSQL answers all or nothing (a cancelled statement has no partial rows)")
    from conditions.search import whoosh

    class OutOfTimeAfterTwoHits(whoosh._TimeLimitedTop):
        """Whoosh's timer fires after two documents were scored (as on a slow query)."""

        def collect_matches(self):
            collect = self.child.collect

            def collect_then_time_out(docnum):
                collect(docnum)
                self.timedout = self.child.total >= 2

            self.child.collect = collect_then_time_out
            super().collect_matches()

    monkeypatch.setattr(whoosh, "_TimeLimitedTop", OutOfTimeAfterTwoHits)
    results = backend.search("bone")
    hits = results[:10]
    assert results.partial and len(hits) == 2 and results.total > 2
    html = client.get("/search/", {"q": "bone"}).content.decode()
    assert "Showing the best matches found in time" in html and html.count('class="result"') == 2
    data = client.get("/api/v1/search/", {"q": "bone"}).json()
    assert data["partial"] is True and len(data["results"]) == 2
    assert client.get("/search/", {"q": "bone", "page": 2}).status_code == 422, "nothing scored in time for page 2"
    filtered = backend.search("bone", category="cancer")
    slugs = [hit.slug for hit in filtered[:10]]
    assert filtered.partial and Article.objects.filter(slug__in=slugs, categories__slug="cancer").count() == len(slugs) == 2


def test_complete_search_is_not_marked_partial(backend, client):
    assert not backend.search("bone").partial
    assert "Showing the best matches found in time" not in client.get("/search/", {"q": "bone"}).content.decode()
    assert client.get("/api/v1/search/", {"q": "bone"}).json()["partial"] is False


def test_postgres_statement_timeout_cancels_and_is_put_back(backend):
    if "postgres" not in type(backend).__module__:
        pytest.skip("PostgreSQL backend only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (before,) = cursor.fetchone()
    deadline = Deadline(0.05)
    with pytest.raises(SearchTooComplex):
        with backend._budgeted(deadline), connection.cursor() as cursor:
            backend._time_left(cursor, deadline)
            cursor.execute("SELECT pg_sleep(5)")  # the database cancels it at the deadline
    assert backend.search("bone").total, "the connection and the caller's transaction still work"
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == (before,), "SET LOCAL does not outlive the search in the caller's transaction"


def test_result_links_keep_the_query_and_reset_the_page_where_they_should(client):
    html = client.get("/search/", {"q": "bone", "page": "2"}).content.decode()
    assert 'href="?q=bone&amp;page=1" rel="prev"' in html and 'href="?q=bone&amp;page=3"' in html
    facet = re.search(r'href="(\?q=bone&amp;category=[a-z-]+)"', html)
    assert facet, "a category link keeps the query and starts again at page 1"
    assert "page=" not in facet.group(1)
    assert client.get("/search/", {"q": "bone", "page": "abc"}).status_code == 200
    assert client.get("/search/", {"q": "bone", "category": "no\x00such"}).status_code == 200


KIND_QUERIES = [("knee pain", "knee-pain"), ("MRI scan", "mri"), ("dexa", "dexa-scan"), ("anti-inflammatory medicines", "nsaids"),
                ("bone marrow biopsy", "bone-marrow-biopsy"), ("back pain", "back-pain"), ("physiotherapy", "physical-therapy")]


@pytest.mark.parametrize("query, slug", KIND_QUERIES, ids=[q for q, _ in KIND_QUERIES])
def test_a_query_naming_a_symptom_test_or_treatment_puts_that_article_first(backend, query, slug):
    assert backend.search(query)[0].slug == slug


def test_results_show_the_kind_and_filter_by_it(backend, client):
    results = backend.search("pain")
    assert results.kind_counts.get("symptom", 0) >= 6 and results.kind_counts.get("condition", 0) >= 10
    only = backend.search("pain", kind="symptom")
    assert only.total == results.kind_counts["symptom"] and {hit.kind for hit in only[:20]} == {"symptom"}
    html = client.get("/search/", {"q": "pain", "kind": "symptom"}).content.decode()
    assert "Type of article" in html and '<p class="kind-label">Symptom</p>' in html and '<p class="kind-label">Condition</p>' not in html
    assert client.get("/api/v1/search/", {"q": "mri", "kind": "test"}).json()["results"][0]["kind"] == "test"


def test_results_are_paged_by_djangos_paginator(backend):
    from django.core.paginator import Paginator

    results = backend.search("bone")
    paginator = Paginator(results, 5)
    first, second = paginator.page(1), paginator.page(2)
    assert paginator.count == results.total > 10 and paginator.num_pages == -(-results.total // 5)
    assert [h.slug for h in first] + [h.slug for h in second] == [h.slug for h in results[:10]], "pages are consecutive slices"
    assert not {h.slug for h in first} & {h.slug for h in second}
    assert paginator.get_page(10_000).number == paginator.num_pages


def test_field_weights_are_declared_once_for_both_backends():
    from conditions.search import whoosh
    from conditions.search.documents import SEARCH_FIELDS, postgres_weights
    from conditions.search.models import RANK_WEIGHTS, WEIGHT_CLASSES

    schema = whoosh.build_schema()
    assert {f.name: f.boost for f in SEARCH_FIELDS} == {f.name: schema[f.name].format.field_boost for f in SEARCH_FIELDS}
    assert (WEIGHT_CLASSES, RANK_WEIGHTS) == postgres_weights()
    assert WEIGHT_CLASSES == {"title": "A", "aka": "B", "summary": "C", "body": "D"} and RANK_WEIGHTS == [0.1, 0.2, 0.8, 1.0]
    with pytest.raises(ValueError, match="four weight classes"):
        postgres_weights([*SEARCH_FIELDS, SEARCH_FIELDS[0]])


# -- every word counts (issue 15, points 1 and 2) ---------------------------------------


@pytest.mark.parametrize("query", ["heel pain in the morning", "knee pain", "bone pain at night", "MRI scan"])
def test_articles_with_every_word_come_before_those_with_some(backend, query):
    results = backend.search(query)
    hits = results[: results.total]
    flags = [hit.complete for hit in hits]
    assert 0 < results.complete < results.total and flags == sorted(flags, reverse=True), "every-word hits first"
    assert sum(flags) == results.complete
    pages = [hit.slug for n in range(1, -(-results.total // 10) + 1) for hit in Paginator(results, 10).page(n)]
    assert pages == [hit.slug for hit in hits], "the tiers page through without a gap or a repeat"


@pytest.mark.parametrize("query", ["pink eye", "frozen shoulder"])
def test_when_no_article_has_every_word_the_page_says_so_before_partial_matches(backend, client, query):
    results = backend.search(query)
    assert results.total and results.complete == 0 and not any(hit.complete for hit in results[:10])
    html = client.get("/search/", {"q": query}).content.decode()
    assert f"We don’t have an article on “{query}”." in html and "Articles that match some of your words" in html
    assert html.index("We don’t have an article") < html.index('class="result"')
    data = client.get("/api/v1/search/", {"q": query}).json()
    assert data["complete"] == 0 and not any(item["complete"] for item in data["results"])


def test_the_page_says_how_many_match_every_word_then_offers_the_rest(backend, client):
    results = backend.search("heel pain in the morning")
    html = client.get("/search/", {"q": "heel pain in the morning"}).content.decode()
    assert f"{results.complete} articles match all your words" in html
    if results.complete < 10:
        assert html.index('class="results"') < html.index("More results with some of your words")
    assert "We don’t have an article" not in html


def test_corrected_and_filtered_searches_say_what_the_results_are(backend, client):
    html = " ".join(client.get("/search/", {"q": "bone marow edema"}).content.decode().split())
    assert 'Showing results for <a href="?q=bone+marrow+edema">bone marrow edema</a>. No exact matches for “bone marow edema”.' in html
    assert "match all your words" not in html and "Did you mean" not in html, "no line contradicts the correction"
    filtered = " ".join(client.get("/search/", {"q": "bone marrow edema", "category": "cancer"}).content.decode().split())
    assert "No article with these filters has all your words." in filtered and "We don’t have an article" not in filtered
    assert '<a href="?q=bone+marrow+edema">Search without filters</a>' in filtered


def test_a_filtered_search_with_nothing_still_offers_the_correction(backend, client):
    results = backend.search("osteoporsis", category="cancer")
    assert results.total == 0 and results.suggestion == "osteoporosis"
    html = client.get("/search/", {"q": "osteoporsis", "category": "cancer"}).content.decode()
    assert "We found no articles" in html and 'Did you mean: <a href="?q=osteoporosis&amp;category=cancer">osteoporosis</a>?' in html
