"""The read-only JSON API: contents, caching headers, CORS, limits, and Schemathesis
checking every response against the published OpenAPI document."""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.cache import caches
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from conditions.models import Article, Category

from .conftest import same_window

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        article = Article.objects.create(title="Secret Draft Condition", slug="secret-draft", summary="Not yet.", status="draft")
        article.set_sections({"overview": "Draft text about knees."})
    return article


def test_list_is_paginated_filtered_and_absolute(client, draft):
    data = client.get("/api/v1/articles/", {"page_size": 10}).json()
    published = Article.objects.published().count()
    assert data["count"] == published and data["pages"] == -(-published // 10) and len(data["results"]) == 10
    assert data["next"] == "http://testserver/api/v1/articles/?page_size=10&page=2" and data["previous"] is None
    first = data["results"][0]
    assert first["url"].startswith("http://testserver/conditions/") and first["api_url"].startswith("http://testserver/api/v1/articles/")
    assert first["reviewed_by"] is None, "no reviewer is claimed when none is recorded"
    assert "secret-draft" not in {item["slug"] for item in client.get("/api/v1/articles/", {"page_size": 100}).json()["results"]}
    cancer = client.get("/api/v1/articles/", {"category": "cancer", "page_size": 100}).json()
    assert cancer["count"] == Category.objects.get(slug="cancer").articles.published().count()
    assert all(any(c["slug"] == "cancer" for c in item["categories"]) for item in cancer["results"])
    Article.objects.filter(slug="osteoporosis").update(updated_at="2030-01-01T00:00:00Z")
    recent = client.get("/api/v1/articles/", {"updated_since": "2029-12-31"}).json()
    assert [item["slug"] for item in recent["results"]] == ["osteoporosis"]


@pytest.mark.parametrize("raw", [
    "2030-01-01T12:00:00+01:00",  # "+" unencoded: it arrives as a space
    "2030-01-01T12:00:00%2B01:00",  # encoded
    "2030-01-01T12:00:00+0100",
])
def test_updated_since_reads_a_plus_offset_sent_unencoded(client, raw):
    Article.objects.filter(slug="osteoporosis").update(updated_at="2030-01-01T11:30:00Z")
    Article.objects.filter(slug="osteoarthritis").update(updated_at="2030-01-01T10:30:00Z")
    response = client.get(f"/api/v1/articles/?updated_since={raw}")
    assert response.status_code == 200, response.content
    # 12:00 at +01:00 is 11:00 UTC: one article after it, one before. Read as UTC (the "+"
    # dropped), both would be before it.
    assert [item["slug"] for item in response.json()["results"]] == ["osteoporosis"]


@pytest.mark.parametrize("params, message", [
    ({"category": "no-such"}, "unknown category"), ({"updated_since": "yesterday"}, "ISO 8601"),
    ({"page": "x"}, "whole number"), ({"page": "-1"}, "between"), ({"page_size": "1000"}, "between"),
    ({"updated_since": "2026-13-45"}, "ISO 8601"),
])
def test_bad_parameters_get_a_400_with_a_reason(client, params, message):
    response = client.get("/api/v1/articles/", params)
    assert response.status_code == 400 and message in response.json()["error"]
    assert response["Access-Control-Allow-Origin"] == "*"


def test_detail_has_sections_as_markdown_and_html_with_absolute_links(client, draft):
    data = client.get("/api/v1/articles/bone-marrow-edema/").json()
    assert data["title"] == "Bone Marrow Edema" and data["sections"][0]["kind"] == "overview"
    assert all(section["markdown"] and section["html"] for section in data["sections"])
    html = " ".join(section["html"] for section in data["sections"])
    assert 'href="http://testserver/conditions/' in html and 'href="/' not in html
    assert data["related"] and data["related"][0]["url"].startswith("http://testserver/conditions/")
    assert client.get("/api/v1/articles/secret-draft/").status_code == 404
    assert client.get("/api/v1/articles/no-such-thing/").json() == {"error": "No published article has that slug."}


def test_search_endpoint_gives_the_site_ranking_and_never_drafts(client, draft):
    data = client.get("/api/v1/search/", {"q": "torn acl"}).json()
    assert data["results"][0]["slug"] == "acl-tear" and data["results"][0]["url"] == "http://testserver/conditions/acl-tear/"
    assert "secret-draft" not in {hit["slug"] for hit in client.get("/api/v1/search/", {"q": "secret draft knees"}).json()["results"]}
    assert client.get("/api/v1/search/", {"q": ""}).json()["total"] == 0
    assert client.get("/api/v1/search/", {"q": "x" * 3000}).status_code == 400
    assert client.get("/api/v1/search/", {"q": "osteoporsis"}).json()["suggestion"] == "osteoporosis"


def test_revalidation_gets_304(client):
    for url in ("/api/v1/articles/", "/api/v1/articles/osteoporosis/"):
        first = client.get(url)
        assert first["ETag"] and first["Last-Modified"] and "public" in first["Cache-Control"]
        assert client.get(url, headers={"if-none-match": first["ETag"]}).status_code == 304
        assert client.get(url, headers={"if-modified-since": first["Last-Modified"]}).status_code == 304


def test_cors_preflight_and_read_only(client):
    preflight = client.options("/api/v1/articles/", headers={"origin": "https://app.example", "access-control-request-method": "GET"})
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight["Access-Control-Allow-Methods"] and "If-None-Match" in preflight["Access-Control-Allow-Headers"]
    assert client.get("/api/v1/articles/")["Access-Control-Allow-Origin"] == "*"
    refused = client.post("/api/v1/articles/", {})
    assert refused.status_code in (403, 405)  # CSRF refuses a cross-site POST before the view; either way nothing changes


def test_rate_limit_answers_429_with_retry_after(client, settings):
    caches["default"].clear()
    settings.HEALTHLIB_API_RATE_LIMIT = "3/60"
    same_window(60)
    assert [client.get("/api/v1/articles/").status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/api/v1/articles/")
    assert limited.status_code == 429 and 0 < int(limited["Retry-After"]) <= 60
    assert limited.json()["retry_after"] == int(limited["Retry-After"])


def test_api_search_and_search_page_share_one_per_client_search_limit(client, settings):
    caches["default"].clear()
    settings.HEALTHLIB_SEARCH_RATE_LIMIT = "5/3600"  # the API's own limit stays high
    pages = [client.get("/search/", {"q": "knee"}).status_code for _ in range(3)]
    api = [client.get("/api/v1/search/", {"q": "knee"}).status_code for _ in range(2)]
    assert pages + api == [200] * 5
    limited = client.get("/api/v1/search/", {"q": "knee"})
    assert limited.status_code == 429 and 0 < int(limited["Retry-After"]) <= 3600
    assert limited.json()["retry_after"] == int(limited["Retry-After"]) and limited["Access-Control-Allow-Origin"] == "*"
    assert client.get("/search/", {"q": "knee"}).status_code == 429, "API searches used up the page's budget too"
    assert client.get("/api/v1/articles/").status_code == 200, "only searches count against the search limit"


def test_api_search_is_limited_after_page_searches(client, settings):
    caches["default"].clear()
    settings.HEALTHLIB_SEARCH_RATE_LIMIT = "2/3600"
    assert [client.get("/search/", {"q": "hip"}).status_code for _ in range(2)] == [200, 200]
    assert client.get("/api/v1/search/", {"q": "hip"}).status_code == 429


def searches_meanwhile(client, monkeypatch):
    """Make each search, while it runs, start one more from the same client (the API's, then
    the page's) until one is refused or three run; return the statuses of those started."""
    from conditions.search import get_backend

    backend_class, statuses = type(get_backend()), []
    search = backend_class.search

    def search_while_the_client_searches_again(self, *args, **kwargs):
        if len(statuses) < 2:
            n = len(statuses)
            statuses.append(None)
            response = client.get("/api/v1/search/" if n % 2 == 0 else "/search/", {"q": "hip"})
            statuses[n] = response.status_code
            if response.status_code == 429:
                assert response["Retry-After"] == "1"
        return search(self, *args, **kwargs)

    monkeypatch.setattr(backend_class, "search", search_while_the_client_searches_again)
    return statuses


def test_one_search_at_a_time_per_client_across_page_and_api(client, monkeypatch, settings):
    """Within its rate, a client still cannot hold more workers at once with searches than
    ``HEALTHLIB_SEARCH_CONCURRENCY`` allows (one here; four by default)."""
    settings.HEALTHLIB_SEARCH_CONCURRENCY = 1
    caches["default"].clear()
    statuses = searches_meanwhile(client, monkeypatch)
    assert client.get("/search/", {"q": "knee"}).status_code == 200
    assert statuses == [429], "the API's search waits for the page's"
    statuses.clear()
    assert client.get("/api/v1/search/", {"q": "knee"}).status_code == 200, "free again once the first has answered"
    assert statuses == [429]


def test_searches_at_once_per_client_is_a_setting(client, settings, monkeypatch):
    caches["default"].clear()
    settings.HEALTHLIB_SEARCH_CONCURRENCY = 2
    statuses = searches_meanwhile(client, monkeypatch)
    assert client.get("/search/", {"q": "knee"}).status_code == 200
    assert statuses == [200, 429], "a second runs, a third is refused"
    settings.HEALTHLIB_SEARCH_CONCURRENCY = 0  # no limit
    statuses.clear()
    assert client.get("/search/", {"q": "knee"}).status_code == 200
    assert statuses == [200, 200]


def test_too_complex_status_is_documented():
    from django.test import RequestFactory

    from conditions.api import openapi_document

    search = openapi_document(RequestFactory().get("/api/v1/openapi.json"))["paths"]["/search/"]["get"]
    assert search["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "partial" in search["responses"]["200"]["content"]["application/json"]["schema"]["required"]


def check_against_the_openapi_document(paths, max_examples=40, excluded_checks=()):
    """Schemathesis generates requests for the operations on ``paths`` from the document and
    checks each response: no server error, a documented status code, content type, headers
    and body. Returns the status codes seen."""
    statuses = set()
    caches["default"].clear()
    # The WSGI handler closes the database connection after each request, as in production;
    # here that connection holds the test's transaction, so keep it open (as Django's test client does).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} == {"/articles/", "/articles/{slug}/", "/search/", "/codes/", "/infobutton/"}
        for operation in operations:
            if operation.path not in paths:
                continue

            @given(case=operation.as_strategy())
            @hypothesis_settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case):
                # The WSGI test client does not gunzip.
                response = case.call_and_validate(headers={"Accept-Encoding": "identity"}, excluded_checks=list(excluded_checks))
                statuses.add(response.status_code)

            check()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return statuses


def test_every_response_matches_the_openapi_document():
    check_against_the_openapi_document({"/articles/", "/articles/{slug}/", "/search/", "/codes/"})


def test_infobutton_answers_match_the_openapi_document():
    from schemathesis.checks import positive_data_acceptance

    # Infobutton's parameters depend on each other (a code needs its code system; a request
    # needs a code or a display name), which OpenAPI cannot say: some schema-valid requests
    # are rightly refused with the documented 400.
    statuses = check_against_the_openapi_document({"/infobutton/"}, max_examples=int(os.environ.get("INFOBUTTON_EXAMPLES", "60")),
                                                  excluded_checks=[positive_data_acceptance])
    assert 200 in statuses and 400 in statuses


def test_out_of_time_search_answers_match_the_openapi_document(settings):
    from schemathesis.checks import positive_data_acceptance

    settings.HEALTHLIB_SEARCH_TIME_BUDGET = 1e-9  # every search with words answers 422
    # Schemathesis expects any schema-valid request to be accepted; a well-formed query can
    # still be too costly to answer, which is the documented 422 checked here.
    statuses = check_against_the_openapi_document({"/search/"}, max_examples=25, excluded_checks=[positive_data_acceptance])
    assert 422 in statuses


@pytest.mark.parametrize("url, status", [
    ("/api/v1/articles/?updated_since=9999-12-31T23:59:59-23:59", 400),  # past year 9999 in UTC
    ("/api/v1/articles/?updated_since=0001-01-01T00:00:00%2B14:00", 400),  # before year 1 in UTC
    ("/api/v1/articles/?category=%00", 400),  # PostgreSQL refuses NUL in a parameter
    ("/api/v1/search/?q=knee&category=%00", 400),
    ("/api/v1/articles/%00/", 404),
])
def test_odd_input_is_refused_not_a_server_error(client, url, status):
    response = client.get(url)
    assert response.status_code == status and "error" in response.json()


def test_writes_get_a_json_405_even_with_csrf_checks():
    from django.test import Client

    browser_like = Client(enforce_csrf_checks=True)
    for method in ("post", "put", "patch", "delete"):
        response = getattr(browser_like, method)("/api/v1/articles/")
        assert response.status_code == 405 and response["Allow"] == "GET, HEAD, OPTIONS", method
        assert "read-only" in response.json()["error"] and response["Access-Control-Allow-Origin"] == "*"


def test_304_keeps_cors_and_head_has_the_get_etag(client):
    url = "/api/v1/articles/osteoporosis/"
    etag = client.get(url)["ETag"]
    assert client.head(url)["ETag"] == etag
    not_modified = client.get(url, headers={"if-none-match": etag})
    assert not_modified.status_code == 304 and not not_modified.content
    assert not_modified["Access-Control-Allow-Origin"] == "*"
