"""Repeat anonymous requests answered ahead of Django (``healthlib.earlyhits``; issue 21, the
cached-page row): the real WSGI entry point (``healthlib.wsgi.application``) called as
gunicorn calls it, with a real environ and ``start_response``.

Whether Django was entered is read from ``request_started``, the signal Django's handler
sends for every request it takes.
"""

import gzip
import io
import logging
import sys
import time
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from conditions.models import Article
from healthlib import pagecache
from healthlib.earlyhits import EarlyHitApplication
from healthlib.wsgi import application

from .test_production import LOCAL_PAGE_CACHE, UNREACHABLE_CACHE

PAGE = "/conditions/osteoporosis/"


@pytest.fixture
def entered(settings):
    """A list that grows by one each time Django's handler takes a request; the shared page
    cache in memory. The handler's connection closing is held off, as Django's test client
    does, so requests run inside the test's transaction."""
    settings.CACHES = LOCAL_PAGE_CACHE
    caches["default"].clear()
    caches["pages"].clear()
    requests = []

    def count(**kwargs):
        requests.append(1)

    request_started.connect(count)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield requests
    request_started.disconnect(count)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    caches["pages"].clear()


def call(path, method="GET", query="", app=application, **headers):
    """``(status code, headers dict, body bytes)`` of ``application`` for one request;
    ``headers`` as environ keys (``HTTP_ACCEPT_ENCODING="gzip"``)."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(),
               "wsgi.errors": sys.stderr, **headers}
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"], started["headers"] = int(status.split()[0]), dict(response_headers)

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return started["status"], started["headers"], body


@pytest.mark.django_db
def test_a_repeat_anonymous_page_is_answered_without_entering_django(entered, caplog):
    first, second = call(PAGE), call(PAGE)
    assert (first[0], first[1]["X-Cache"], second[1]["X-Cache"], len(entered)) == (200, "miss", "hit", 2)
    with caplog.at_level(logging.INFO, logger="healthlib.request"):
        status, headers, body = call(PAGE, HTTP_X_REQUEST_ID="from-the-proxy-1")
    assert len(entered) == 2, "answered ahead of Django"
    assert status == 200 and body == second[2] and headers["X-Cache"] == "hit"
    per_request = ("X-Request-ID", "X-Accel-Expires")
    assert {k: v for k, v in headers.items() if k not in per_request} == {k: v for k, v in second[1].items() if k not in per_request}
    assert headers["X-Request-ID"] == "from-the-proxy-1" and headers["X-Accel-Expires"].startswith("@")
    assert "Content-Security-Policy" in headers and headers["ETag"] == second[1]["ETag"]
    logged = [r.fields for r in caplog.records if r.name == "healthlib.request"]
    assert logged == [{"request_id": "from-the-proxy-1", "method": "GET", "path": PAGE, "status": 200, "ms": logged[0]["ms"],
                       "bytes": len(body), "cache": "early", "client": "127.0.0.1"}]
    assert call(PAGE, HTTP_X_REQUEST_ID="bad id\n")[1]["X-Request-ID"] != "bad id\n"

    status, headers, body = call(PAGE, "HEAD")
    assert (status, body, headers["Content-Length"], len(entered)) == (200, b"", str(len(second[2])), 2)

    # Compressed and plain answers are kept apart, each as Django compressed it (the first
    # is Django's, from its page cache).
    zipped = [call(PAGE, HTTP_ACCEPT_ENCODING="gzip, br") for _ in range(3)]
    assert len(entered) == 3 and zipped[2][2] == zipped[1][2]
    assert zipped[2][1]["Content-Encoding"] == "gzip" and gzip.decompress(zipped[2][2]) == second[2]
    assert call(PAGE)[2] == second[2] and len(entered) == 3


@pytest.mark.django_db
def test_a_publish_retires_early_answers_at_once(entered, django_capture_on_commit_callbacks):
    for _ in range(3):
        call(PAGE)
    assert len(entered) == 2
    article = Article.objects.get(slug="osteoporosis")
    with django_capture_on_commit_callbacks(execute=True):
        article.summary = "A summary edited a moment ago."
        article.save()
    status, headers, body = call(PAGE)
    assert headers["X-Cache"] == "miss" and b"A summary edited a moment ago." in body and len(entered) == 3


@pytest.mark.django_db
def test_what_is_never_answered_ahead_of_django(entered):
    def entered_each_time(path, query="", method="GET", **headers):
        before = len(entered)
        answers = [call(path, method, query, **headers) for _ in range(3)]
        return len(entered) - before == 3, answers

    # Searches and the API: their per-client limits count every request, cached or not.
    for path, query in (("/search/", "q=knee+pain"), ("/api/v1/search/", "q=knee"), ("/api/v1/articles/osteoporosis/", ""),
                        ("/api/v1/articles/", "")):
        fresh, answers = entered_each_time(path, query)
        assert fresh and answers[2][1]["X-Cache"] == "hit", path
    # A query string other than the one the page-cache key holds (junk, another order, another spelling).
    for query in ("utm_source=mail", "page=1&utm=2", "q=knee%20pain"):
        assert entered_each_time("/conditions/", query)[0], query
    # A signed-in reader's session, a revalidation, another port in the Host header.
    assert entered_each_time(PAGE, HTTP_COOKIE="sessionid=abc")[0]
    fresh, answers = entered_each_time(PAGE, HTTP_IF_NONE_MATCH=call(PAGE)[1]["ETag"])
    assert fresh and [a[0] for a in answers] == [304, 304, 304]
    assert entered_each_time(PAGE, HTTP_HOST="127.0.0.1:8081")[0]
    # Pages that are not cached at all, and answers other than 200.
    assert entered_each_time("/conditions/no-such-article/")[0]
    assert entered_each_time("/healthz")[0]
    # A plain repeat still is, and a POST to the same address never.
    call(PAGE), call(PAGE)
    before = len(entered)
    call(PAGE)
    assert len(entered) == before
    status, _, _ = call(PAGE, "POST", CONTENT_LENGTH="0")
    assert len(entered) == before + 1 and status == 403  # CSRF: Django refused it


@pytest.mark.django_db
def test_settings_that_shape_responses_file_answers_apart(entered, settings):
    """A server restarted with other security settings never replays headers of the old ones."""
    def restarted():  # Django's middleware reads its settings when the handler starts
        return EarlyHitApplication(WSGIHandler())

    for _ in range(3):
        call(PAGE)
    assert len(entered) == 2
    secure = {"HTTPS": "on", "wsgi.url_scheme": "https"}
    settings.SECURE_HSTS_SECONDS = 31536000
    app = restarted()
    status, headers, _ = call(PAGE, app=app, **secure)
    assert len(entered) == 3 and "max-age=31536000" in headers["Strict-Transport-Security"]
    settings.SECURE_SSL_REDIRECT = True
    assert call(PAGE, app=restarted())[0] == 301 and len(entered) == 4, "the plain-HTTP answer kept before is not given"
    settings.ALLOWED_HOSTS = ["health.example.org"]
    assert call(PAGE, app=restarted(), **secure)[0] == 400 and len(entered) == 5


@pytest.mark.django_db
def test_an_unreachable_cache_sends_every_request_to_django(entered, settings, monkeypatch):
    settings.CACHES = UNREACHABLE_CACHE
    monkeypatch.setattr(pagecache, "_last_warning", [0.0])  # its own once-a-minute log line
    answers = [call(PAGE) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 200] and len(entered) == 3
    assert all(a[1]["X-Cache"] == "miss" for a in answers)
    # The layer stands aside for a while, so each request waits out the cache's timeout once (in Django), not twice.
    assert application.resume_at > time.monotonic()
    application.resume_at = 0.0
    settings.CACHES = LOCAL_PAGE_CACHE
