"""import_content / export_content: every rule of the content format and every kind of bad file."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from conditions.models import Article, ArticleSection, SectionKind

pytestmark = pytest.mark.django_db


def run_import(*paths):
    """Run the command; return (exit status, stdout, stderr lines)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_content", *map(str, paths), stdout=out, stderr=err)
        status = 0
    except CommandError as error:
        status = error.returncode
    return status, out.getvalue(), [line for line in err.getvalue().splitlines() if line]


def test_creates_article_with_sections_categories_and_related(write_source):
    path = write_source(
        "test-knee-pain",
        categories='["Bones, Joints & Muscles", Injuries]',
        related="[osteoarthritis, acl-tear]",
        also_known_as="[Sore knee, Knee ache]",
        reviewed_on="2026-01-15",
    )
    status, out, errors = run_import(path)
    assert (status, errors) == (0, [])
    assert "1 created" in out
    article = Article.objects.get(slug="test-knee-pain")
    assert article.is_published and article.published_at is not None
    assert article.also_known_as == ["Sore knee", "Knee ache"]
    assert sorted(c.name for c in article.categories.all()) == ["Bones, Joints & Muscles", "Injuries"]
    assert sorted(a.slug for a in article.related.all()) == ["acl-tear", "osteoarthritis"]
    assert [s.kind for s in article.sections.all()] == [SectionKind.OVERVIEW, SectionKind.KEY_POINTS]
    overview = article.sections.get(kind=SectionKind.OVERVIEW)
    assert '<h3 id="what-is-test-knee-pain">' in overview.html
    assert '<a href="/conditions/bone-marrow-edema/">Bone Marrow Edema</a>' in overview.html


def test_second_run_changes_nothing_timestamps_included(write_source):
    path = write_source("test-idempotent", related="[osteoporosis]")
    assert run_import(path)[0] == 0
    before = Article.objects.filter(slug="test-idempotent").values().get()
    sections_before = list(ArticleSection.objects.filter(article__slug="test-idempotent").values())
    status, out, _ = run_import(path)
    assert status == 0 and "0 created, 0 updated, 1 unchanged" in out
    assert Article.objects.filter(slug="test-idempotent").values().get() == before
    assert list(ArticleSection.objects.filter(article__slug="test-idempotent").values()) == sections_before


def test_changed_file_updates_in_place(write_source):
    run_import(write_source("test-update"))
    first = Article.objects.get(slug="test-update")
    status, out, _ = run_import(write_source("test-update", title="Renamed Condition", status="draft"))
    assert status == 0 and "1 updated" in out
    article = Article.objects.get(slug="test-update")
    assert (article.pk, article.title, article.status) == (first.pk, "Renamed Condition", "draft")
    assert article.updated_at > first.updated_at
    assert article.created_at == first.created_at


def test_a_file_that_changes_only_related_is_updated_and_moves_updated_at(write_source):
    run_import(write_source("test-related-only", related="[osteoporosis]"))
    first = Article.objects.get(slug="test-related-only")
    status, out, _ = run_import(write_source("test-related-only", related="[osteoporosis, osteoarthritis]"))
    assert status == 0 and "0 created, 1 updated, 0 unchanged" in out
    article = Article.objects.get(slug="test-related-only")
    assert sorted(article.related.values_list("slug", flat=True)) == ["osteoarthritis", "osteoporosis"]
    assert article.updated_at > first.updated_at
    assert run_import(write_source("test-related-only", related="[osteoporosis, osteoarthritis]"))[1].count("1 unchanged") == 1


def test_links_resolve_across_the_batch_in_any_order(write_source):
    # "test-a" sorts first and links to "test-b", which only exists later in the batch.
    a = write_source("test-a", body="## Overview\n\nSee [[test-b]] and [[test-b|the other one]].\n", related="[test-b]")
    b = write_source("test-b", body="## Overview\n\nSee [[test-a]].\n", related="[test-a]")
    assert run_import(a, b)[0] == 0
    html = ArticleSection.objects.get(article__slug="test-a").html
    assert '<a href="/conditions/test-b/">Test B</a>' in html
    assert '<a href="/conditions/test-b/">the other one</a>' in html
    assert [a.slug for a in Article.objects.get(slug="test-a").related.all()] == ["test-b"]
    assert [a.slug for a in Article.objects.get(slug="test-b").related.all()] == ["test-a"]


def test_link_to_unpublished_article_is_plain_text_until_published(write_source):
    run_import(write_source("test-draft-target", status="draft"))
    linker = write_source("test-linker", body="## Overview\n\nRead about [[test-draft-target|that]].\n")
    code, _, errors = run_import(linker)
    assert code == 1 and "[[test-draft-target]] links to an article that is not published" in " ".join(errors), errors
    assert not Article.objects.filter(slug="test-linker").exists()
    run_import(write_source("test-linker", status="draft", body="## Overview\n\nRead about [[test-draft-target|that]].\n"))
    assert ArticleSection.objects.get(article__slug="test-linker").html == "<p>Read about that.</p>"
    run_import(write_source("test-draft-target", status="published"))
    run_import(write_source("test-linker", body="## Overview\n\nRead about [[test-draft-target|that]].\n"))
    assert 'href="/conditions/test-draft-target/"' in ArticleSection.objects.get(article__slug="test-linker").html
    Article.objects.get(slug="test-draft-target").delete()
    assert ArticleSection.objects.get(article__slug="test-linker").html == "<p>Read about that.</p>"


def test_windows_line_endings_and_byte_order_mark_load(write_source):
    from tests.conftest import source_text

    text = source_text("test-crlf").replace("\n", "\r\n")
    path = write_source("test-crlf", raw=b"\xef\xbb\xbf" + text.encode())
    assert run_import(path)[:3:2] == (0, [])
    article = Article.objects.get(slug="test-crlf")
    assert article.title == "Test Crlf"
    assert "\r" not in article.sections.get(kind="overview").markdown


def test_sub_folders_are_allowed(write_source):
    path = write_source("test-nested", name="bones/test-nested.md")
    assert run_import(path.parent.parent)[0] == 0
    assert Article.objects.filter(slug="test-nested").exists()


BAD_FILES = {
    "malformed front matter": ({"raw": b"---\ntitle: [unclosed\nslug: x\n---\n## Overview\n\nText\n"}, 3, "not valid YAML"),
    "front matter never closed": ({"raw": b"---\ntitle: X\n## Overview\n"}, 1, "never closed"),
    "no front matter": ({"raw": b"## Overview\n\nText\n"}, 1, "must start with a '---'"),
    "missing required key": ({"raw": b"---\nslug: test-bad\nsummary: S\n---\n## Overview\n\nT\n"}, 2, "'title' is required"),
    "unknown key": ({"also_know_as": "[X]"}, 6, "unknown front matter key 'also_know_as' (did you mean 'also_known_as'?)"),
    "repeated key": ({"raw": b"---\ntitle: A\ntitle: B\nslug: bad\nsummary: S\n---\n## Overview\n\nT\n"}, 3, "'title' is repeated"),
    "unknown section": ({"body": "## Overview\n\nText\n\n## Causes\n\nText\n"}, 11, "unknown section '## Causes'"),
    "repeated section": ({"body": "## Overview\n\nText\n\n## Overview\n\nMore\n"}, 11, "section 'Overview' is repeated (first on line 7)"),
    "out-of-order section": ({"body": "## Prevention\n\nText\n\n## Overview\n\nMore\n"}, 11, "out of order: it must come before 'Prevention'"),
    "empty section": ({"body": "## Overview\n\n## Prevention\n\nText\n"}, 7, "section 'Overview' is empty"),
    "text before first section": ({"body": "Intro text\n\n## Overview\n\nText\n"}, 7, "text before the first section"),
    "level-1 heading": ({"body": "# Bad\n\n## Overview\n\nText\n"}, 7, "level-1 headings"),
    "slug not the file name": ({"slug": "other-name"}, 3, "must equal the file name"),
    "slug with bad characters": ({"slug": "Bad_Slug", "name": "Bad_Slug.md"}, 3, "lowercase letters a-z"),
    "impossible date": ({"reviewed_on": "2026-02-30"}, 6, "reviewed_on '2026-02-30' is not a real date"),
    "unknown status": ({"status": "live"}, 5, "unknown status 'live'; use one of: draft, review, published"),
    "unknown kind": ({"kind": "recipe"}, 6, "unknown kind 'recipe'"),
    "unknown link target": ({"body": "## Overview\n\nSee\n[[no-such-article]].\n"}, 10, "link 'no-such-article' names no article"),
    "malformed link": ({"body": "## Overview\n\nSee [[Not A Slug]].\n"}, 9, "link '[[Not A Slug]]' is malformed"),
    "unknown category": ({"categories": "[Bones]"}, 6, "unknown category 'Bones'; use one of: Blood; Bones, Joints & Muscles;"),
    "unknown related": ({"related": "[no-such-article]"}, 6, "related article 'no-such-article' names no article"),
    "list where text expected": ({"summary": "[a, b]"}, 4, "'summary' must be text"),
    "emergency signs on a test article": ({"kind": "test", "emergency": "[Fever]"}, 7, "Only condition and symptom articles list emergency signs"),
    "emergency signs not a list": ({"emergency": "Fever"}, 6, "'emergency' must be a list of short phrases"),
    "emergency sign too long": ({"emergency": "[" + "Very long " * 13 + "]"}, 6, "keep each to a short phrase of at most 120"),
    "non-UTF-8 file": ({"raw": b"---\ntitle: Caf\xe9\nslug: x\n---\n"}, 2, "not valid UTF-8 (byte 0xe9)"),
    "empty file": ({"raw": b""}, None, "the file is empty"),
    "whitespace-only file": ({"raw": b"  \n\n"}, None, "the file is empty"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_file_gets_one_clear_line_and_loads_nothing(write_source, case):
    kwargs, line, message = BAD_FILES[case]
    slug = "test-bad"
    bad = write_source(slug, **kwargs)
    good = write_source("test-good-neighbour")
    status, out, errors = run_import(bad, good)
    assert status == 1
    assert len(errors) == 1, errors
    where = f"{bad}:{line}: " if line else f"{bad}: "
    assert errors[0].startswith(where), errors[0]
    assert message in errors[0]
    assert "Traceback" not in errors[0]
    assert not Article.objects.filter(slug__in=[slug, "other-name", "Bad_Slug"]).exists()
    assert Article.objects.filter(slug="test-good-neighbour").exists(), "valid files still load"


def test_bad_file_never_loses_what_the_database_has(write_source):
    run_import(write_source("test-keep", title="Original Title"))
    status, _, errors = run_import(write_source("test-keep", title="New Title", status="bogus"))
    assert status == 1 and len(errors) == 1
    article = Article.objects.get(slug="test-keep")
    assert article.title == "Original Title" and article.sections.count() == 2


def test_duplicate_slug_in_one_batch(write_source):
    first = write_source("test-twin")
    second = write_source("test-twin", name="more/test-twin.md")
    status, _, errors = run_import(first, second)
    assert status == 1 and len(errors) == 1 and "is also used by" in errors[0]


def test_file_linking_to_a_rejected_file_is_rejected_too(write_source):
    broken = write_source("test-broken", status="nonsense")
    linker = write_source("test-linker-2", related="[test-broken]")
    status, _, errors = run_import(broken, linker)
    assert status == 1 and len(errors) == 2
    assert not Article.objects.filter(slug__in=["test-broken", "test-linker-2"]).exists()


def test_missing_path_is_reported(tmp_path):
    status, _, errors = run_import(tmp_path / "nowhere")
    assert status == 1 and errors == [f"{tmp_path / 'nowhere'}: no such file or folder"]


def test_export_then_import_into_empty_database_then_export_is_byte_identical(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    call_command("export_content", str(first), stdout=io.StringIO())
    assert len(list(first.glob("*.md"))) == Article.objects.count() >= 32
    Article.objects.all().delete()
    status, _, errors = run_import(first)
    assert (status, errors) == (0, [])
    call_command("export_content", str(second), stdout=io.StringIO())
    names = sorted(p.name for p in first.glob("*.md"))
    assert names == sorted(p.name for p in second.glob("*.md"))
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_shipped_content_reimports_unchanged():
    status, out, errors = run_import(settings.HEALTHLIB_CONTENT_DIR)
    assert (status, errors) == (0, [])
    assert " 0 created, 0 updated" in " " + out


def test_command_exits_non_zero_without_traceback(tmp_path, write_source):
    """The real command line: one line on stderr, exit status 1."""
    bad = write_source("test-cli", status="bogus")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "healthlib.settings.test", "HEALTHLIB_TEST_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    manage = Path(settings.BASE_DIR) / "manage.py"
    subprocess.run([sys.executable, manage, "migrate", "-v0"], env=env, check=True)
    result = subprocess.run([sys.executable, manage, "import_content", bad], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0] == f"{bad}:5: unknown status 'bogus'; use one of: draft, review, published"
