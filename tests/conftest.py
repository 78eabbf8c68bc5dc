"""Shared fixtures: the shipped articles loaded once per test database, a helper that
writes source files for importer tests, and the real-browser fixtures."""

import os
import shutil
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings

from conditions.categories import create_body_systems
from conditions.importer import import_content
from conditions.models import Category


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load ``content/`` once; each test runs in a transaction rolled back afterwards."""
    with django_db_blocker.unblock():
        report = import_content([settings.HEALTHLIB_CONTENT_DIR])
        assert not report.errors, [str(error) for error in report.errors]


@pytest.fixture(autouse=True)
def private_search_index(settings, tmp_path):
    """Every test searches a copy of the shared Whoosh index, so index updates it commits
    never reach the other tests (the database rolls back by itself; an index would not)."""
    from conditions.search import get_backend

    shared = Path(settings.HEALTHLIB_SEARCH_OPTIONS["path"])
    if shared.exists():
        shutil.copytree(shared, tmp_path / "search", symlinks=True)
    settings.HEALTHLIB_SEARCH_OPTIONS = {**settings.HEALTHLIB_SEARCH_OPTIONS, "path": tmp_path / "search"}
    get_backend.cache_clear()
    yield get_backend()
    get_backend.cache_clear()


@pytest.fixture(params=["whoosh", "postgres"])
def backend(request, settings):
    """Each search backend in turn, answering the site's views too; the index holds the
    published articles. PostgreSQL's runs when DATABASE_URL points at PostgreSQL (as in CI)."""
    from django.db import connection

    from conditions.models import Article
    from conditions.search import get_backend
    from conditions.search.documents import SearchDocument

    if request.param == "postgres":
        if connection.vendor != "postgresql":
            pytest.skip("the PostgreSQL backend runs when DATABASE_URL points at PostgreSQL (as in CI)")
        settings.HEALTHLIB_SEARCH_BACKEND = "conditions.search.postgres.SearchBackend"
        get_backend.cache_clear()
        get_backend().rebuild(SearchDocument.from_article(a) for a in Article.objects.published().prefetch_related("sections", "categories"))
    yield get_backend()
    get_backend.cache_clear()


@pytest.fixture
def editor():
    """A staff user in the Editor group (writes drafts, submits them for review)."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("editor", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Editor"))
    return user


@pytest.fixture
def reviewer():
    """A staff user in the Medical reviewer group (may also publish and delete)."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("reviewer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Medical reviewer"))
    return user


SECTIONS_BODY = """\
## Overview

### What is {title}?

{title} is a test condition. It links to [[bone-marrow-edema]].

## Key Points

- It is only a test.
"""


def source_text(stem, *, title=None, body=None, **front):
    title = title or stem.replace("-", " ").title()
    meta = {"title": title, "slug": stem, "summary": f"A short summary of {title}.", "status": "published", **front}
    lines = ["---"] + [f"{key}: {value}" for key, value in meta.items() if value is not None] + ["---", ""]
    return "\n".join(lines) + (textwrap.dedent(body) if body is not None else SECTIONS_BODY.format(title=title))


@pytest.fixture
def write_source(tmp_path):
    """Write ``<slug>.md`` (or raw bytes) into a temporary content folder; return its path."""

    def write(stem, raw=None, name=None, **kwargs):
        path = tmp_path / (name or f"{stem}.md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw if raw is not None else source_text(stem, **kwargs).encode())
        return path

    return write


# -- real-browser fixtures (Playwright driving Debian's Chromium) ---------------------

CHROMIUM = os.environ.get("HEALTHLIB_CHROMIUM", "/usr/bin/chromium")
NODE_MODULES = Path(settings.BASE_DIR) / "node_modules"


def require_tool(present, what):
    """Skip without ``what``, unless HEALTHLIB_REQUIRE_BROWSER=1 (as in CI), where its absence fails."""
    if not present:
        if os.environ.get("HEALTHLIB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{what} is missing; 'make test' installs it")
        pytest.skip(f"{what} is missing")


@pytest.fixture(scope="module")
def browser():
    require_tool(shutil.which(CHROMIUM), f"Chromium ({CHROMIUM})")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def site(live_server):
    """The live server with the shipped articles (a transactional test starts from an emptied database)."""
    create_body_systems(Category)
    report = import_content([settings.HEALTHLIB_CONTENT_DIR])
    assert not report.errors
    return live_server.url


def same_window(window, margin=10):
    """Wait, if needed, until the next ``margin`` seconds fall in one window of a rate limit
    (healthlib.ratelimit counts in fixed windows of ``window`` seconds from the epoch): a test
    that straddled a window's end would see its count start again."""
    left = window - time.time() % window
    if left < margin:
        time.sleep(left + 0.05)
