"""Production: settings from the environment, the shared page cache, health, logs, backups,
and two real app servers sharing one PostgreSQL and one Redis."""

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from conditions.models import Article, Category
from conditions.search import get_backend
from healthlib import pagecache, ratelimit

from .conftest import same_window
from .servers import PRODUCTION_ENV, Server, manage

LOCAL_PAGE_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "prod-default"},
    "pages": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "prod-pages"},
}


# -- settings ---------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"])
def test_production_refuses_to_start_without_a_required_setting(missing, tmp_path):
    env = {**PRODUCTION_ENV, missing: "", "HEALTHLIB_DATA_DIR": str(tmp_path)}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} must be set in the environment for production" in result.stderr


def test_production_refuses_an_empty_emergency_number(tmp_path):
    result = manage("check", env={**PRODUCTION_ENV, "HEALTHLIB_EMERGENCY_NUMBER": " ", "HEALTHLIB_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0 and "HEALTHLIB_EMERGENCY_NUMBER is empty" in result.stderr


def test_production_refuses_a_per_process_cache(tmp_path):
    env = {**PRODUCTION_ENV, "REDIS_URL": "", "CACHE_URL": "locmem://", "HEALTHLIB_DATA_DIR": str(tmp_path)}
    result = manage("check", env=env)
    assert result.returncode != 0 and "use redis://" in result.stderr


def test_production_settings_pass_the_deployment_checklist(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "HEALTHLIB_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# -- page cache ---------------------------------------------------------------------


@pytest.fixture
def page_cache(settings):
    settings.CACHES = LOCAL_PAGE_CACHE
    caches["default"].clear()
    caches["pages"].clear()
    yield
    caches["pages"].clear()


@pytest.mark.django_db
def test_a_new_emergency_number_or_a_release_retires_cached_pages(client, page_cache, settings):
    url = "/conditions/septic-arthritis/"
    assert client.get(url)["X-Cache"] == "miss" and client.get(url)["X-Cache"] == "hit"
    settings.HEALTHLIB_EMERGENCY_NUMBER = "999"
    page = client.get(url)
    assert page["X-Cache"] == "miss" and "Call 999 or go to the emergency room" in page.content.decode()
    assert client.get(url)["X-Cache"] == "hit"
    call_command("invalidate_page_cache", stdout=io.StringIO())
    assert client.get(url)["X-Cache"] == "miss", "a release retires every cached page"


@pytest.mark.django_db
def test_anonymous_pages_are_cached_revalidated_and_invalidated(client, page_cache, django_capture_on_commit_callbacks):
    url = "/conditions/osteoporosis/"
    first = client.get(url)
    assert first["X-Cache"] == "miss" and "public" in first["Cache-Control"] and "max-age=300" in first["Cache-Control"]
    second = client.get(url)
    assert second["X-Cache"] == "hit" and second.content == first.content
    assert second["ETag"] == first["ETag"] and second["Last-Modified"]
    assert client.get(url, headers={"if-none-match": first["ETag"]}).status_code == 304
    assert client.get(url, headers={"if-modified-since": first["Last-Modified"]}).status_code == 304
    article = Article.objects.get(slug="osteoporosis")
    with django_capture_on_commit_callbacks(execute=True):
        article.summary = "A freshly edited summary."
        article.save()
    third = client.get(url)
    assert third["X-Cache"] == "miss" and "A freshly edited summary." in third.content.decode()
    assert third["ETag"] != first["ETag"]
    assert client.get(url, headers={"if-none-match": first["ETag"]}).status_code == 200
    for other in ("/", "/conditions/", "/categories/bones-joints-muscles/", "/feeds/rss/", "/sitemap.xml", "/robots.txt",
                  "/api/v1/articles/", "/api/v1/articles/osteoporosis/"):
        assert client.get(other)["X-Cache"] == "miss" and client.get(other)["X-Cache"] == "hit", other
    category = Category.objects.get(slug="bones-joints-muscles")
    with django_capture_on_commit_callbacks(execute=True):
        category.name = "Bones and Joints"
        category.save()
    renamed = client.get("/categories/bones-joints-muscles/")
    assert renamed["X-Cache"] == "miss" and "Bones and Joints" in renamed.content.decode(), "category changes retire pages too"


@pytest.mark.django_db
def test_a_list_revalidated_by_date_is_sent_again_once_an_article_leaves_it(client, page_cache, django_capture_on_commit_callbacks):
    """Taking an article out of publication changes no published article: the lists' date of
    last change must move all the same, or a client revalidating by date keeps a stale list."""
    urls = ("/conditions/letter/s/", "/categories/bones-joints-muscles/", "/api/v1/articles/?page_size=100", "/sitemap.xml")
    stamps = {}
    for url in urls:
        response = client.get(url)
        assert "septic-arthritis" in response.content.decode(), url
        stamps[url] = response["Last-Modified"]
        assert client.get(url, headers={"if-modified-since": stamps[url]}).status_code == 304, url
    time.sleep(1)  # HTTP dates count whole seconds
    article = Article.objects.get(slug="septic-arthritis")
    article.status = Article.Status.DRAFT
    with django_capture_on_commit_callbacks(execute=True):
        article.save()
    for url in urls:
        response = client.get(url, headers={"if-modified-since": stamps[url]})
        assert response.status_code == 200 and "septic-arthritis" not in response.content.decode(), url
        assert response["Last-Modified"] != stamps[url], url


def test_content_version_is_a_fresh_token_that_never_repeats(page_cache):
    seen = {pagecache.content_version()}
    for _ in range(5):
        pagecache.bump_content_version()
        seen.add(pagecache.content_version())
    assert len(seen) == 6
    caches["default"].delete(pagecache.VERSION_KEY)  # evicted: a new token, never an old one
    assert pagecache.content_version() not in seen


@pytest.mark.django_db
def test_signed_in_staff_always_get_fresh_private_pages(client, page_cache):
    client.get("/conditions/osteoporosis/")
    staff = User.objects.create_user("staffer", password="x", is_staff=True)
    staff.groups.add(Group.objects.get(name="Editor"))
    client.force_login(staff)
    response = client.get("/conditions/osteoporosis/")
    assert "X-Cache" not in response and "private" in response["Cache-Control"] and "public" not in response["Cache-Control"]


# -- operations ---------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_each_dependency(client, settings, tmp_path):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "search": "ok"}}
    settings.CACHES = {**LOCAL_PAGE_CACHE, "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    search_options, settings.HEALTHLIB_SEARCH_OPTIONS = settings.HEALTHLIB_SEARCH_OPTIONS, {"path": tmp_path / "no-index"}
    get_backend.cache_clear()
    try:
        response = client.get("/healthz")
    finally:
        settings.HEALTHLIB_SEARCH_OPTIONS = search_options
        get_backend.cache_clear()
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok" and checks["cache"].startswith("error") and checks["search"].startswith("error")
    # The cache alone down: pages are served uncached, so the server stays in the balancer.
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"


@pytest.mark.django_db
def test_requests_are_logged_as_json_with_a_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="healthlib.request"):
        response = client.get("/conditions/osteoporosis/", headers={"x-request-id": "abc-123"})
    assert response["X-Request-ID"] == "abc-123"
    record = next(r for r in caplog.records if r.name == "healthlib.request")
    line = json.loads(logging.getLogger("healthlib.request").handlers[0].formatter.format(record))
    assert {"request_id": "abc-123", "method": "GET", "path": "/conditions/osteoporosis/", "status": 200}.items() <= line.items()
    assert line["ms"] >= 0 and line["bytes"] > 0
    assert client.get("/", headers={"x-request-id": "bad id with spaces"})["X-Request-ID"] != "bad id with spaces"


@pytest.mark.django_db
def test_request_logs_name_the_same_client_as_rate_limits(client, caplog, settings):
    import ipaddress

    settings.HEALTHLIB_TRUSTED_PROXY_IPS = (ipaddress.ip_network("10.0.0.0/8"),)
    with caplog.at_level(logging.INFO, logger="healthlib.request"):
        client.get("/robots.txt", REMOTE_ADDR="10.1.2.3", headers={"x-forwarded-for": "198.51.100.9, 10.0.0.7"})
        client.get("/robots.txt", REMOTE_ADDR="203.0.113.5", headers={"x-forwarded-for": "198.51.100.9"})
    clients = [r.fields["client"] for r in caplog.records if r.name == "healthlib.request"]
    assert clients == ["198.51.100.9", "203.0.113.5"], "behind a trusted proxy the visitor; forged from elsewhere, ignored"


@pytest.mark.django_db(transaction=True)
def test_database_backup_restores(tmp_path):
    """The documented backup (pg_dump / SQLite's online backup) restores every article."""
    from conditions.categories import create_body_systems
    from conditions.importer import import_content
    from conditions.models import Category

    create_body_systems(Category)
    import_content([settings.HEALTHLIB_CONTENT_DIR])
    expected = set(Article.objects.published().values_list("slug", flat=True))
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        dump = tmp_path / "healthlib.dump"
        target = f"{db['NAME']}_restore"
        args = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"] or "postgres"]
        subprocess.run(["pg_dump", *args, "-Fc", "-f", str(dump), db["NAME"]], check=True, timeout=120)
        subprocess.run(["dropdb", *args, "--if-exists", target], check=True)
        subprocess.run(["createdb", *args, target], check=True)
        try:
            subprocess.run(["pg_restore", *args, "--no-owner", "-d", target, str(dump)], check=True, timeout=120)
            out = subprocess.run(["psql", *args, "-At", "-d", target, "-c", "SELECT slug FROM conditions_article WHERE status = 'published'"],
                                 check=True, capture_output=True, text=True).stdout
        finally:
            subprocess.run(["dropdb", *args, "--if-exists", target], check=True)
        restored = set(out.split())
    else:
        backup = tmp_path / "backup.sqlite3"
        source = sqlite3.connect(db["NAME"])
        with sqlite3.connect(backup) as destination:
            source.backup(destination)
        source.close()
        with sqlite3.connect(backup) as restored_db:
            restored = {row[0] for row in restored_db.execute("SELECT slug FROM conditions_article WHERE status = 'published'")}
    assert restored == expected and len(restored) == len(list(settings.HEALTHLIB_CONTENT_DIR.glob("*.md")))


# -- two servers ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_servers_share_one_database_and_one_cache(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("two servers share PostgreSQL and Redis; runs when DATABASE_URL is PostgreSQL (as in CI)")
    from conditions.categories import create_body_systems
    from conditions.importer import import_content
    from conditions.models import Category
    from conditions.search.documents import SearchDocument
    from conditions.search.postgres import PostgresSearchBackend

    from .test_editors import form_data

    create_body_systems(Category)
    import_content([settings.HEALTHLIB_CONTENT_DIR])
    PostgresSearchBackend().rebuild(SearchDocument.from_article(a) for a in Article.objects.published().prefetch_related("sections", "categories"))
    draft = Article.objects.create(title="Quokka Fever", slug="quokka-fever", summary="A made-up condition.", status="review")
    draft.set_sections({"overview": "Quokka fever is a made-up condition for this test."})
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    # The servers run production's password hashers, not the tests' fast one.
    User.objects.create(username="chief", is_staff=True, is_superuser=True,
                        password=PBKDF2PasswordHasher().encode("a long test password", "testsalt1234", iterations=1000))
    db = connection.settings_dict
    redis_db = 15
    subprocess.run(["redis-cli", "-n", str(redis_db), "FLUSHDB"], check=True, capture_output=True)
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        **PRODUCTION_ENV,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "SEARCH_BACKEND": "postgres",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_CONN_MAX_AGE": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    collected = manage("collectstatic", "--no-input", env=env, timeout=300)
    assert collected.returncode == 0, collected.stderr
    a, b = Server(env, tmp_path / "a"), Server(env, tmp_path / "b")
    try:
        assert b.get("/conditions/quokka-fever/")[0] == 404
        assert b.get("/conditions/osteoporosis/")[1]["X-Cache"] == "miss"
        assert b.get("/conditions/osteoporosis/")[1]["X-Cache"] == "hit"

        a.login("chief", "a long test password")
        status, body = a.post("/admin/conditions/article/", {"action": "publish", "_selected_action": [draft.pk]})
        assert status == 200 and "Published: 1 article(s)" in body
        status, _, page = b.get("/conditions/quokka-fever/")
        assert status == 200 and "Quokka Fever" in page, "published through A, shown by B at once"
        assert "/conditions/quokka-fever/" in b.get("/search/?q=quokka")[2], "and found by B's search"

        osteoporosis = Article.objects.get(slug="osteoporosis")
        change = f"/admin/conditions/article/{osteoporosis.pk}/change/"
        a.get(change)
        edited = "Edited on server A just now."
        b.get("/conditions/osteoporosis/")  # cached again on B
        status, _ = a.post(change, form_data(osteoporosis, summary=edited))  # a live article: kept as unpublished changes
        assert status == 200
        assert b.get("/conditions/osteoporosis/")[1]["X-Cache"] == "hit", "unpublished changes leave B's cached page alone"
        for step in ("_submit_changes", "_publish_changes"):
            status, _ = a.post(change, form_data(osteoporosis, summary=edited, **{step: "1"}))
            assert status == 200
        status, headers, page = b.get("/conditions/osteoporosis/")
        assert headers["X-Cache"] == "miss" and "Edited on server A just now." in page, "the edit retired B's cached page"
    finally:
        logs = a.stop() + b.stop()
        if "Traceback" in logs:
            print(logs[-6000:])
        subprocess.run(["redis-cli", "-n", str(redis_db), "FLUSHDB"], capture_output=True)



def test_production_leaves_uploaded_files_to_the_front_server(tmp_path):
    code = "from django.conf import settings; from django.urls import resolve, Resolver404\n" \
           "try: resolve('/media/images/x/original.png'); print('served')\nexcept Resolver404: print('not served')"
    result = manage("shell", "-c", code, env={**PRODUCTION_ENV, "HEALTHLIB_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "not served", "django.views.static.serve is not for production"


NO_WHOOSH_SCRIPT = """
import json, sys

imported = []


class RefuseWhoosh:
    # Any import of Whoosh, however deep or however guarded, is recorded and fails.
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "whoosh":
            imported.append(name)
            raise ImportError("a PostgreSQL deployment imported " + name)


sys.meta_path.insert(0, RefuseWhoosh())
import django
from django.core.management import call_command
from django.core.management.base import CommandError

django.setup()
from django.test import Client

from conditions.search import get_backend

call_command("collectstatic", "--no-input", verbosity=0)
call_command("rebuild_index", verbosity=0)
client = Client(SERVER_NAME="127.0.0.1")
paths = ["/", "/conditions/osteoporosis/", "/search/?q=osteoporsis", "/search/?q=bone+pain&page=2", "/search/suggest/?q=oste",
         "/api/v1/search/?q=bone", "/api/v1/articles/", "/healthz", "/admin/login/"]
print(json.dumps({"backend": type(get_backend()).__module__, "imported": imported,
                  "status": {path: client.get(path).status_code for path in paths}}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_postgresql_deployment_never_imports_whoosh(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("runs when DATABASE_URL is PostgreSQL (as in CI)")
    from conditions.categories import create_body_systems
    from conditions.importer import import_content

    create_body_systems(Category)
    import_content([settings.HEALTHLIB_CONTENT_DIR])
    db = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")},
        **PRODUCTION_ENV,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "SECURE_SSL_REDIRECT": "0",
        "HEALTHLIB_DATA_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    env.pop("SEARCH_BACKEND", None)  # production's default for a PostgreSQL database
    result = subprocess.run([sys.executable, "-c", NO_WHOOSH_SCRIPT], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "conditions.search.postgres"
    assert report["imported"] == []
    assert set(report["status"].values()) == {200}, report["status"]


@pytest.mark.django_db
def test_repeat_searches_come_from_the_cache_until_the_content_changes(client, page_cache, django_capture_on_commit_callbacks):
    first = client.get("/search/", {"q": "knee pain"})
    assert first["X-Cache"] == "miss" and first.status_code == 200
    again = client.get("/search/", {"q": "  knee   pain "})  # the normalised query: one entry
    assert again["X-Cache"] == "hit" and again.content == first.content
    assert client.get("/search/", {"q": "knee pain", "page": "2"})["X-Cache"] == "miss", "each page its own entry"
    assert client.get("/search/", {"q": "knee pain", "kind": "symptom"})["X-Cache"] == "miss", "each filter its own entry"
    assert client.get("/search/", {"kind": "symptom", "q": "knee pain"})["X-Cache"] == "hit", "whatever the parameters' order"
    article = Article.objects.get(slug="knee-pain")
    with django_capture_on_commit_callbacks(execute=True):
        article.summary = "Knee pain, freshly edited."
        article.save()
    fresh = client.get("/search/", {"q": "knee pain"})
    assert fresh["X-Cache"] == "miss" and "Knee pain, freshly edited." in fresh.content.decode(), "a publish retires cached searches"
    api = client.get("/api/v1/search/", {"q": "knee pain"})
    assert api["X-Cache"] == "miss" and client.get("/api/v1/search/", {"q": "knee  pain"})["X-Cache"] == "hit", "the API's too"
    refused = client.get("/search/", {"q": "x" * 3000})
    assert refused.status_code == 400 and client.get("/search/", {"q": "x" * 3000})["X-Cache"] == "miss", "errors are never cached"


@pytest.mark.django_db
def test_the_front_may_keep_an_anonymous_page_until_the_end_of_the_second_and_nothing_else(client, reviewer):
    before = int(time.time())
    for url in ("/conditions/osteoporosis/", "/search/?q=knee", "/conditions/no-such-article/"):
        expires = client.get(url)["X-Accel-Expires"]
        assert expires.startswith("@") and before <= int(expires[1:]) <= int(time.time()), (url, expires)
    assert client.post("/admin/login/", {"username": "x", "password": "y"})["X-Accel-Expires"] == "0"
    assert client.get("/admin/login/")["X-Accel-Expires"] == "0", "a page setting a cookie is never kept"
    client.force_login(reviewer)
    assert client.get("/conditions/osteoporosis/")["X-Accel-Expires"] == "0", "signed-in pages are never kept"


# Redis on a port nothing listens on: every cache call fails at once.
UNREACHABLE_CACHE = {
    alias: {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0", "KEY_PREFIX": alias,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25}}
    for alias in ("default", "pages")
}


@pytest.mark.django_db
def test_an_unreachable_cache_leaves_pages_search_and_publishing_working(client, settings, caplog, django_capture_on_commit_callbacks):
    settings.CACHES = UNREACHABLE_CACHE
    with caplog.at_level(logging.ERROR, logger="healthlib.pagecache"):
        for url in ("/conditions/septic-arthritis/", "/search/?q=knee+pain", "/api/v1/articles/septic-arthritis/",
                    "/api/v1/search/?q=knee", "/search/suggest/?q=kne"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.get("X-Cache", "miss") == "miss", url
        article = Article.objects.get(slug="septic-arthritis")
        article.summary = "Septic arthritis is a joint infection; see a doctor the same day."
        with django_capture_on_commit_callbacks(execute=True):
            article.save()  # the content version cannot be replaced: logged, the edit is kept
    assert Article.objects.get(slug="septic-arthritis").summary.endswith("the same day.")
    assert "see a doctor the same day" in client.get("/conditions/septic-arthritis/").content.decode()
    assert "cache unreachable" in caplog.text and "invalidate_page_cache" in caplog.text
    # The release step says it could not retire the pages, rather than claiming it did.
    assert pagecache.pending_bump()
    with pytest.raises(CommandError, match="cannot be reached"):
        call_command("invalidate_page_cache", stdout=io.StringIO())
    # Limits still hold, counted per process meanwhile.
    settings.HEALTHLIB_SEARCH_RATE_LIMIT = "3/60"
    same_window(60)
    ratelimit._FALLBACK.clear()
    assert [client.get("/search/", {"q": f"knee {n}"}).status_code for n in range(4)] == [200, 200, 200, 429]
    # The cache back: this process retires what was cached before the outage at its next request.
    settings.CACHES = LOCAL_PAGE_CACHE
    caches["default"].set(pagecache.VERSION_KEY, "before-the-outage", timeout=None)
    client.get("/conditions/septic-arthritis/")
    assert not pagecache.pending_bump() and caches["default"].get(pagecache.VERSION_KEY) != "before-the-outage"
