"""The page cache cannot be flooded: keys hold only the query parameters a view reads,
and every production cache has an explicit size policy. Checked in-process and against
real gunicorn workers under production settings with the file cache of ``make serve``."""

import concurrent.futures
import os
import random
import subprocess
import time

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection

from conditions.categories import create_body_systems
from conditions.importer import import_content
from conditions.models import Category

from .servers import PRODUCTION_ENV, Server, free_port, manage

HOT_PAGES = ["/", "/conditions/", "/conditions/osteoporosis/", "/conditions/bone-marrow-edema/", "/categories/bones-joints-muscles/",
             "/feeds/rss/", "/sitemap.xml", "/api/v1/articles/", "/api/v1/articles/osteoporosis/"]


def junk(n):
    return random.choice([f"utm_source=x{n}", f"fbclid={n}", f"q={n}&ref={n}", f"{n}=", f"x=%00{n}"])


@pytest.fixture
def file_page_cache(settings, tmp_path):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "flood"},
        "pages": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": tmp_path / "pages",
                  "OPTIONS": {"MAX_ENTRIES": 40}},
    }
    caches["default"].clear()
    yield tmp_path / "pages"
    caches["pages"].clear()


@pytest.mark.django_db
def test_junk_query_strings_share_the_page_entry(client, file_page_cache):
    for url in HOT_PAGES:
        assert client.get(url)["X-Cache"] == "miss", url
    for n in range(300):
        url = random.choice(HOT_PAGES)
        response = client.get(f"{url}?{junk(n)}")
        assert response.status_code == 200 and response["X-Cache"] == "hit", (url, response.status_code)
    assert all(client.get(url)["X-Cache"] == "hit" for url in HOT_PAGES)
    # One page entry per real page, and one finished answer for the WSGI layer (healthlib.earlyhits)
    # per page outside the API (whose per-client limit counts every request).
    answers = [url for url in HOT_PAGES if not url.startswith("/api/")]
    assert len(list(file_page_cache.glob("*.djcache"))) == len(HOT_PAGES) + len(answers), "none for junk"


@pytest.mark.django_db
def test_views_see_only_the_parameters_they_declare(client, file_page_cache):
    first, second = client.get("/api/v1/articles/?page_size=5"), client.get("/api/v1/articles/?page_size=5&page=2")
    assert first["X-Cache"] == second["X-Cache"] == "miss", "parameters the view reads make their own entries"
    assert first.json()["results"] != second.json()["results"]
    tracked = client.get("/api/v1/articles/?page_size=5&utm_source=mail")
    assert tracked["X-Cache"] == "hit" and "utm_source" not in tracked.content.decode(), "junk never reaches the view"


def test_production_file_cache_has_an_explicit_entry_cap(tmp_path):
    env = {**PRODUCTION_ENV, "REDIS_URL": "", "CACHE_URL": f"file://{tmp_path}/cache", "HEALTHLIB_DATA_DIR": str(tmp_path),
           "HEALTHLIB_FILE_CACHE_MAX_ENTRIES": "1234"}
    code = "from django.conf import settings; print([c['OPTIONS']['MAX_ENTRIES'] for c in settings.CACHES.values()])"
    result = manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[1234, 1234]"


@pytest.fixture
def shipped_redis(tmp_path):
    """A redis-server of its own, started with the shipped deploy/redis.conf (its memory cap lowered to 2 MB)."""
    port = free_port()
    process = subprocess.Popen(["redis-server", str(settings.BASE_DIR / "deploy" / "redis.conf"), "--port", str(port),
                                "--bind", "127.0.0.1", "--dir", str(tmp_path), "--maxmemory", "2mb"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG":
            break
        time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=10)


def test_redis_size_policy_evicts_pages_but_never_the_content_version(settings, shipped_redis):
    from healthlib import pagecache

    location = f"redis://127.0.0.1:{shipped_redis}/0"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location, "KEY_PREFIX": "healthlib"},
                       "pages": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location, "KEY_PREFIX": "healthlib-pages"}}
    version = pagecache.content_version()
    page = os.urandom(20_000)
    for n in range(500):  # 10 MB of pages into a 2 MB Redis
        caches["pages"].set(f"page:{version}:{n}", page, pagecache.PAGE_TIMEOUT)
    info = subprocess.run(["redis-cli", "-p", str(shipped_redis), "info"], capture_output=True, text=True).stdout
    stats = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    assert int(stats["evicted_keys"]) > 0 and int(stats["used_memory"]) < 3 * 1024 * 1024
    assert pagecache.content_version() == version, "the version key has no TTL, so volatile-lru never evicts it"
    assert caches["pages"].get(f"page:{version}:499") == page, "recent pages are kept"


@pytest.mark.django_db(transaction=True)
def test_hundreds_of_junk_urls_do_not_evict_hot_pages_under_gunicorn(tmp_path):
    create_body_systems(Category)
    assert not import_content([settings.HEALTHLIB_CONTENT_DIR]).errors
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        database_url = f"sqlite:///{db['NAME']}"
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        **PRODUCTION_ENV,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "CACHE_URL": f"file://{tmp_path}/cache",  # make serve's layout: one machine, a shared file cache
        "HEALTHLIB_FILE_CACHE_MAX_ENTRIES": "60",  # small, so that any flooding would evict
        "SEARCH_BACKEND": "whoosh",
        "HEALTHLIB_API_RATE_LIMIT": "10000/60",  # one client fetches the API pages hundreds of times here
        "SECURE_SSL_REDIRECT": "0", "SECURE_COOKIES": "0", "SECURE_HSTS_SECONDS": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    env["HEALTHLIB_DATA_DIR"] = str(tmp_path / "data")
    assert manage("collectstatic", "--no-input", env=env, timeout=300).returncode == 0
    built = manage("rebuild_index", env=env, timeout=300)
    assert built.returncode == 0, built.stderr
    server = Server(env, tmp_path / "data")
    try:
        for url in HOT_PAGES:
            assert server.get(url)[0] == 200, url
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda n: server.get(f"{random.choice(HOT_PAGES)}?{junk(n)}")[1].get("X-Cache"), range(600)))
        assert statuses.count("hit") == 600, "every junk URL is served from its page's entry"
        for url in HOT_PAGES:
            assert server.get(url)[1]["X-Cache"] == "hit", f"{url} was evicted"
        # A page entry and a finished answer (healthlib.earlyhits) per real page, none for junk.
        assert len(list((tmp_path / "cache" / "healthlib-pages").glob("*.djcache"))) <= 2 * len(HOT_PAGES)
    finally:
        logs = server.stop()
        assert "Traceback" not in logs, logs[-4000:]
