"""Hardening: hostile article text inert on every surface, security headers, sign-in
lockout, request limits, and faults (a corrupted index, SIGKILL during an import,
concurrent SQLite writers, the database gone)."""

import ipaddress
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

from conditions.models import Article
from conditions.search import get_backend
from conditions.search.documents import SearchDocument

from .conftest import same_window

ROOT = Path(settings.BASE_DIR)

# Script-injection payloads, each meant to run script somewhere if any surface let it through.
PAYLOADS = [
    "<script>alert('x1')</script>",
    "<img src=x onerror=alert('x2')>",
    "<svg onload=alert('x3')><circle r=1></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('x4')></style></mglyph></table></mtext></math>",
    "[click](javascript:alert('x5'))",
    "[click](JaVaScRiPt:alert('x6'))",
    "[click](&#106;avascript:alert('x7'))",
    "[click](java\tscript:alert('x8'))",
    "![img](javascript:alert('x9'))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<a href=\"javascript:alert('x10')\">link</a>",
    "<iframe src=\"https://evil.example/\"></iframe>",
    "<object data=\"evil.swf\"></object><embed src=\"evil.swf\">",
    "<div style=\"background:url(javascript:alert('x11'))\" onclick=\"alert('x12')\">div</div>",
    "</script><script>alert('x13')</script>",
    "</title><script>alert('x14')</script>",
    "\"><script>alert('x15')</script>",
    "<!--<script>alert('x16')</script>-->",
    "<form action=\"https://evil.example/\"><input name=q></form>",
    "<base href=\"https://evil.example/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">",
]
MARKER = "alert("
ALLOWED_SCRIPTS = ("/static/", "application/ld+json")


class InertChecker(HTMLParser):
    """Collects anything in a page that could run script, load foreign content or redirect."""

    DANGEROUS_TAGS = {"iframe", "object", "embed", "svg", "math", "base", "form", "meta", "style", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.in_script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            kind = attrs.get("type", "") or attrs.get("src", "")
            if not any(allowed in kind for allowed in ALLOWED_SCRIPTS):
                self.problems.append(f"script {attrs}")
            self.in_script = kind
        if tag in self.DANGEROUS_TAGS and not self._ours(tag, attrs):
            self.problems.append(f"<{tag} {attrs}>")
        for name, value in attrs.items():
            value = (value or "").replace("\t", "").replace("\n", "").strip().lower()
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction", "srcset", "data") and value.startswith(("javascript:", "data:", "vbscript:")):
                self.problems.append(f"<{tag} {name}={value[:40]}>")

    @staticmethod
    def _ours(tag, attrs):
        # The site's own: the search form, meta tags in <head>, and the admin's.
        if tag == "form" and attrs.get("action", "").startswith("/"):
            return True
        if tag == "input" and attrs.get("name") in ("q", "csrfmiddlewaretoken", "username", "password", "next"):
            return True
        if tag == "meta" and "http-equiv" not in attrs:
            return True
        return tag == "svg" and "aria-hidden" in attrs

    def handle_data(self, data):
        if self.in_script and "ld+json" in self.in_script and "<" in data:
            self.problems.append("markup inside JSON-LD")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = None


def assert_inert(html, where):
    checker = InertChecker()
    checker.feed(html)
    assert not checker.problems, f"{where}: {checker.problems[:5]}"


@pytest.fixture
def hostile(django_capture_on_commit_callbacks):
    """A published article whose every field is made of payloads, indexed."""
    with django_capture_on_commit_callbacks(execute=True):
        article = Article.objects.create(
            title="Hostile </title><script>alert('t')</script> condition",
            slug="hostile-condition",
            summary="Summary " + " ".join(PAYLOADS[:4]),
            also_known_as=["<img src=x onerror=alert('aka')>", "</script><script>alert('aka2')</script>"],
            emergency_signs=["<img src=x onerror=alert('sos')>", "</script><script>alert('sos2')</script>"],
            status=Article.Status.PUBLISHED,
        )
        article.set_sections({
            "overview": "### Hostile <script>alert('h3')</script>\n\n" + "\n\n".join(PAYLOADS) + "\n\nHostile condition text.",
            "key-points": "- " + "\n- ".join(PAYLOADS[:6]),
            "references": "1. " + PAYLOADS[4],
        })
        article.categories.set([1, 2])
    yield article
    get_backend().delete("hostile-condition")


@pytest.mark.django_db
def test_hostile_text_is_inert_on_every_html_surface(client, hostile):
    category = hostile.categories.first().slug
    surfaces = {
        "article": "/conditions/hostile-condition/",
        "a-z": "/conditions/",
        "category": f"/categories/{category}/",
        "home": "/",
        "search": "/search/?q=hostile",
        "search by other name": "/search/?q=onerror",
    }
    for where, url in surfaces.items():
        response = client.get(url)
        assert response.status_code == 200, where
        html = response.content.decode()
        assert_inert(html, where)
        assert "<script>alert" not in html, where
    page = client.get(surfaces["article"]).content.decode()
    assert "<title>Hostile &lt;/title&gt;&lt;script&gt;" in page, "the title is text"
    ld = page.split('type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert json.loads(ld)["name"].startswith("Hostile </title>")
    search = client.get(surfaces["search"]).content.decode()
    assert "hostile-condition" in search and "<mark>" in search


@pytest.mark.django_db
def test_hostile_text_is_inert_in_feeds_sitemap_suggestions_and_admin_preview(client, hostile):
    for url in ("/feeds/rss/", "/feeds/atom/", "/sitemap.xml"):
        response = client.get(url)
        tree = ElementTree.fromstring(response.content)  # well-formed: everything escaped
        text = ElementTree.tostring(tree, encoding="unicode")
        assert "<script>" not in text, url
    rss = ElementTree.fromstring(client.get("/feeds/rss/").content)
    titles = [item.findtext("title") for item in rss.iter("item")]
    assert hostile.title in titles, "the feed carries the title as text"
    api = client.get("/api/v1/articles/hostile-condition/").json()
    assert api["title"] == hostile.title, "the API carries text as JSON strings"
    for section in api["sections"]:
        assert_inert(section["html"], f"API html of {section['kind']}")
    assert hostile.slug in {hit["slug"] for hit in client.get("/api/v1/search/", {"q": "hostile"}).json()["results"]}
    for hit in client.get("/api/v1/search/", {"q": "hostile script"}).json()["results"]:
        assert_inert(hit["snippet"] or "", "API snippet")
    suggestions = client.get("/search/suggest/", {"q": "hostile"})
    assert suggestions["Content-Type"] == "application/json"
    assert suggestions.json()["results"][0]["title"] == hostile.title  # data, shown with textContent
    staff = User.objects.create_superuser("boss", password="x")
    client.force_login(staff)
    for payload in PAYLOADS:
        preview = client.post("/markdownx/markdownify/", {"content": payload}).content.decode()
        assert_inert(preview, f"preview of {payload!r}")
    admin_page = client.get(f"/admin/conditions/article/{hostile.pk}/change/").content.decode()
    assert "<script>alert" not in admin_page


# -- headers --------------------------------------------------------------------------


@pytest.mark.django_db
def test_security_headers(client):
    for url in ("/", "/conditions/osteoporosis/", "/search/?q=bone", "/admin/login/"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
        # Our scripts are files; a nonce appears only when a template asks for one.
        assert "'self'" in script_src and "unsafe-inline" not in script_src and "unsafe-eval" not in script_src, url
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_production_sends_hsts_and_secure_cookies(tmp_path):
    code = "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)"
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "DJANGO_SETTINGS_MODULE": "healthlib.settings.production",
           "SECRET_KEY": "p" * 60, "ALLOWED_HOSTS": "health.example.org", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3",
           "REDIS_URL": "redis://127.0.0.1:6379/15", "HEALTHLIB_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["31536000", "True", "True", "True"], out.stderr


# -- abuse ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_sign_in_locks_after_repeated_failures_and_refuses_the_right_password(client):
    User.objects.create_user("editor1", password="the right password 123", is_staff=True)
    unknown = client.post("/admin/login/", {"username": "nobody-here", "password": "wrong"}).content.decode()
    wrong = client.post("/admin/login/", {"username": "editor1", "password": "wrong"}).content.decode()
    message = "Please enter the correct username and password"
    assert message in unknown and message in wrong, "the same answer whether or not the account exists"
    for _ in range(4):
        client.post("/admin/login/", {"username": "editor1", "password": "wrong"})
    locked = client.post("/admin/login/", {"username": "editor1", "password": "the right password 123"})
    assert locked.status_code in (403, 429)
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_oversized_requests_are_refused_not_crashed(client):
    staff = User.objects.create_superuser("big", password="x")
    client.force_login(staff)
    response = client.post("/markdownx/markdownify/", {"content": "x" * 3_000_000})
    assert response.status_code in (400, 413)
    response = client.post("/markdownx/markdownify/", {f"f{n}": "1" for n in range(2500)})
    assert response.status_code == 400


# -- faults -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_corrupted_index_keeps_pages_working_and_rebuild_restores_it(client, settings, tmp_path):
    from conditions.search.whoosh import WhooshSearchBackend

    settings.HEALTHLIB_SEARCH_OPTIONS = {"path": tmp_path / "index"}
    settings.HEALTHLIB_SEARCH_BACKEND = "conditions.search.whoosh.SearchBackend"
    get_backend.cache_clear()
    try:
        backend = get_backend()
        backend.rebuild(SearchDocument.from_article(a) for a in Article.objects.published().prefetch_related("sections", "categories"))
        live = tmp_path / "index" / os.readlink(tmp_path / "index" / "current")
        for segment in live.iterdir():
            if segment.suffix in (".seg", ".toc"):
                segment.write_bytes(segment.read_bytes()[:40])  # truncated
        get_backend.cache_clear()
        assert client.get("/conditions/osteoporosis/").status_code == 200
        response = client.get("/search/", {"q": "osteoporosis"})
        assert response.status_code == 503 and "Search is temporarily unavailable" in response.content.decode()
        assert client.get("/search/suggest/", {"q": "oste"}).status_code == 503
        call_command("rebuild_index", stdout=open(os.devnull, "w"))
        get_backend.cache_clear()
        assert client.get("/search/", {"q": "osteoporosis"}).status_code == 200
        assert isinstance(get_backend(), WhooshSearchBackend)
    finally:
        get_backend.cache_clear()


def _manage(args, env, **kwargs):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, **kwargs)


@pytest.fixture
def scratch_site(tmp_path):
    """A separate on-disk SQLite site (committed data other processes can see)."""
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, "DJANGO_SETTINGS_MODULE": "healthlib.settings.dev",
           "HEALTHLIB_DATA_DIR": str(tmp_path / "data")}
    _manage(["migrate", "-v0"], env, check=True)
    _manage(["import_content"], env, check=True, capture_output=True)
    return env, tmp_path / "data" / "healthlib.sqlite3"


def test_sigkill_during_import_leaves_each_article_old_or_new(tmp_path, scratch_site):
    env, database = scratch_site
    edited = tmp_path / "edited"
    edited.mkdir()
    for source in sorted(settings.HEALTHLIB_CONTENT_DIR.glob("*.md")):
        text = source.read_text()
        text = text.replace("summary: >-\n  ", "summary: >-\n  EDITED ", 1)
        text = text.replace("\n## Overview\n", "\n## Overview\n\nEDITED overview sentence.\n", 1)
        (edited / source.name).write_text(text)
    process = subprocess.Popen([sys.executable, "manage.py", "import_content", str(edited)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Kill it as soon as the first edited article has been committed: mid-import.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(database, timeout=30) as db:
            if db.execute("SELECT count(*) FROM conditions_article WHERE summary LIKE 'EDITED %'").fetchone()[0]:
                break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT a.slug, a.summary LIKE 'EDITED %', s.markdown LIKE '%EDITED overview sentence.%' "
            "FROM conditions_article a JOIN conditions_articlesection s ON s.article_id = a.id AND s.kind = 'overview'"
        ).fetchall()
    assert len(rows) == len(list(settings.HEALTHLIB_CONTENT_DIR.glob("*.md")))
    half = [slug for slug, summary_new, overview_new in rows if summary_new != overview_new]
    assert not half, f"half-written articles: {half}"
    updated = sum(1 for _, new, _ in rows if new)
    assert 0 < updated < 32, f"the kill landed mid-import ({updated} of 32 updated)"


WRITER = """
import os, django
django.setup()
from conditions.models import Article
for n in range(40):
    article = Article.objects.get(slug="osteoporosis")
    article.summary = f"Summary edit {n}."
    article.save()
"""
READER = """
import os, django
django.setup()
from django.test import Client
client = Client(SERVER_NAME="127.0.0.1")
for n in range(60):
    assert client.get("/conditions/osteoporosis/").status_code == 200
"""


def test_sqlite_readers_and_an_editor_at_once_never_see_database_is_locked(scratch_site):
    env, _ = scratch_site
    processes = [subprocess.Popen([sys.executable, "-c", WRITER], cwd=ROOT, env=env, stderr=subprocess.PIPE)]
    processes += [subprocess.Popen([sys.executable, "-c", READER], cwd=ROOT, env=env, stderr=subprocess.PIPE) for _ in range(3)]
    results = [(p.wait(timeout=300), p.stderr.read().decode()) for p in processes]
    assert all(code == 0 for code, _ in results), [err[-500:] for _, err in results]
    assert not any("database is locked" in err for _, err in results)


def test_a_damaged_index_under_gunicorn_never_drops_a_request(scratch_site, tmp_path):
    """Index files cut short under running gunicorn workers that have them open (a full disk,
    a botched copy): every request is still answered, and rebuild_index restores search
    without restarting the servers. With memory-mapped segment files the next search in
    each worker died of SIGBUS and the client got no answer at all."""
    from concurrent.futures import ThreadPoolExecutor

    from .servers import Server

    env, _ = scratch_site
    assert _manage(["rebuild_index"], env, capture_output=True).returncode == 0
    data = tmp_path / "data"
    env = {**env, "HEALTHLIB_SEARCH_CONCURRENCY": "16", "HEALTHLIB_SEARCH_RATE_LIMIT": "1000/60", "HEALTHLIB_SUGGEST_RATE_LIMIT": "1000/60"}
    searches = ["/search/?q=knee+pain", "/search/?q=bone+marrow", "/search/?q=osteoporosis", "/search/?q=septic"] * 4
    suggestions, articles = ["/search/suggest/?q=oste"] * 4, ["/conditions/osteoporosis/"] * 4
    running = Server(env, data, workers=2)
    fresh = None
    try:
        with ThreadPoolExecutor(8) as pool:  # both workers open the index before the damage
            assert {status for status, _, _ in pool.map(running.get, searches)} == {200}
        for segment in (data / "search").glob("index-*/*.seg"):
            os.truncate(segment, segment.stat().st_size // 3)

        # The running workers answer everything: from the index they read before the damage, or with the friendly 503.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(running.get, searches + suggestions + articles))
        for status, _, body in answers[:16]:
            assert (status == 200 and "result__title" in body) or (status == 503 and "Search is temporarily unavailable" in body)
        for status, _, body in answers[16:20]:
            assert status in (200, 503) and isinstance(json.loads(body)["results"], list)
        assert [status for status, _, _ in answers[20:]] == [200] * 4, "articles never need the index"

        # Workers that open the damaged index now: the friendly 503 for search and suggestions, articles as ever.
        fresh = Server(env, data, workers=2, ready=(503,))  # /healthz names the unreadable index
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(fresh.get, searches + suggestions + articles))
        for status, _, body in answers[:16]:
            assert status == 503 and "Search is temporarily unavailable" in body
        for status, _, body in answers[16:20]:
            assert status == 503 and json.loads(body) == {"results": [], "error": "Search is temporarily unavailable."}
        assert [status for status, _, _ in answers[20:]] == [200] * 4

        assert _manage(["rebuild_index"], env, capture_output=True).returncode == 0
        for server in (running, fresh):
            with ThreadPoolExecutor(8) as pool:
                after = list(pool.map(server.get, searches + suggestions))
            assert [status for status, _, _ in after] == [200] * len(after)
            assert "/symptoms/knee-pain/" in after[0][2] and "Osteoarthritis" in after[-1][2]
            assert server.process.poll() is None
    finally:
        logs = [server.stop() for server in (running, fresh) if server is not None]
    for log in logs:  # no worker died or was replaced: rebuild_index restored search without a restart
        assert "SIGBUS" not in log and "was sent" not in log and log.count("Booting worker") == 2, log[-3000:]


def test_database_unavailable_gives_a_503_page(tmp_path):
    from .servers import PRODUCTION_ENV, free_port

    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **PRODUCTION_ENV,
           "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing", "CACHE_URL": f"file://{tmp_path}/cache", "REDIS_URL": "",
           "SEARCH_BACKEND": "whoosh", "SECURE_SSL_REDIRECT": "0", "ALLOWED_HOSTS": "127.0.0.1", "HEALTHLIB_DATA_DIR": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "healthlib.wsgi", "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/conditions/osteoporosis/", timeout=10)
                pytest.fail("expected a 503")
            except urllib.error.HTTPError as refused:
                error, body = refused, refused.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert error.code == 503 and "briefly unavailable" in body and "Traceback" not in body
        assert error.headers["Retry-After"] == "30"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.django_db
def test_search_and_suggestions_are_rate_limited_per_client(client, settings):
    from django.core.cache import caches

    caches["default"].clear()
    settings.HEALTHLIB_SEARCH_RATE_LIMIT = "3/60"
    settings.HEALTHLIB_SUGGEST_RATE_LIMIT = "2/60"
    same_window(60)
    assert [client.get("/search/", {"q": "bone"}).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/search/", {"q": "bone"})
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert "Too many searches" in refused.content.decode()
    assert client.get("/search/", {"q": "bone"}, REMOTE_ADDR="10.0.0.9").status_code == 200, "another client is not affected"
    assert client.get("/conditions/osteoporosis/").status_code == 200, "reading is never limited"
    assert [client.get("/search/suggest/", {"q": "os"}).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/search/suggest/", {"q": "os"}).json()["error"]


@pytest.mark.django_db
def test_rate_limits_count_visitors_behind_a_trusted_load_balancer(client, settings):
    from django.core.cache import caches

    caches["default"].clear()
    settings.HEALTHLIB_SEARCH_RATE_LIMIT = "2/60"
    same_window(60)
    settings.HEALTHLIB_TRUSTED_PROXY_IPS = (ipaddress.ip_network("10.0.0.1"),)
    balancer = {"REMOTE_ADDR": "10.0.0.1"}
    for visitor in ("203.0.113.5", "203.0.113.6"):
        codes = [client.get("/search/", {"q": "bone"}, HTTP_X_FORWARDED_FOR=f"198.51.100.1, {visitor}", **balancer).status_code for _ in range(3)]
        assert codes == [200, 200, 429], visitor
    # Anyone else's X-Forwarded-For is their own writing (tests/test_front.py has the rest).
    direct = {"REMOTE_ADDR": "198.51.100.9"}
    codes = [client.get("/search/", {"q": "bone"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}", **direct).status_code for n in range(10, 13)]
    assert codes == [200, 200, 429]


@pytest.mark.django_db
def test_an_error_while_reading_the_index_is_the_friendly_503_and_the_next_search_reopens(tmp_path):
    import struct

    from conditions.search.base import SearchTooComplex, SearchUnavailable
    from conditions.search.whoosh import WhooshSearchBackend

    backend = WhooshSearchBackend(tmp_path / "index")
    backend.rebuild(SearchDocument.from_article(a) for a in Article.objects.published().prefetch_related("sections", "categories"))
    assert backend.search("osteoporosis").total
    before = backend._local.searcher
    with pytest.raises(SearchUnavailable, match="unpack requires"):
        with backend._searcher():
            struct.unpack("<q", b"short")  # what a segment file cut short raises while its postings are read
    assert backend._local.searcher is None, "the damaged searcher is forgotten"
    assert backend.search("osteoporosis")[0].slug == "osteoporosis"
    assert backend._local.searcher is not before, "the next search reopened the index"
    with pytest.raises(SearchTooComplex):  # the query's own outcomes pass through unchanged
        with backend._searcher():
            raise SearchTooComplex
    assert backend._local.searcher is not None
