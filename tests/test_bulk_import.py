"""A migration's worth of files at once (issue 21, point 2, and its bad input): the bulk path
in worker processes writes what the one-file path would, broken files cost one line each,
and an import killed halfway completes when run again, nothing doubled."""

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone
from reversion.models import Version

from conditions import importer
from conditions.models import Article, ArticleLink, ArticleSection
from conditions.search import get_backend, signals
from conditions.search.documents import SearchDocument

from .conftest import source_text
from .test_importer import run_import

pytestmark = pytest.mark.django_db

COUNT = importer.PARALLEL_FROM + 40  # enough for the worker processes


def slug(n):
    return f"bulk-topic-{n:04d}"


def write_corpus(folder, count):
    """``count`` articles, each linking to the next published one (a file later in the batch)
    and related to the one after the next; every fifth a draft (a live page may not link to one)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        following, after = slug((n + 1 + ((n + 1) % 5 == 4)) % count), slug((n + 2) % count)
        body = (f"## Overview\n\n### What is bulk topic {n}?\n\nBulk topic {n} is a made-up condition, word{n}x, for the importer's "
                f"tests. It often comes with [[{following}]].\n\n## Key Points\n\n- Tiredness\n- Aches that come and go\n")
        (folder / f"{slug(n)}.md").write_text(source_text(
            slug(n), body=body, status="draft" if n % 5 == 4 else "published", related=f"[{after}]",
            categories='["Bones, Joints & Muscles"]', codes="[M81.0]" if n % 2 else None))
    return folder


def expected_index():
    """``{slug: content hash}`` a rebuild of the index from the database would hold."""
    return {article.slug: SearchDocument.from_article(article).content_hash
            for article in Article.objects.published().prefetch_related("sections", "categories")}


def record_builds_aside(monkeypatch):
    """A list that gets, for each index build started aside, its number of documents, then
    "finished" or "dropped" and the exit code of its process."""
    events = []

    class Recorded(signals.IndexBuiltAside):
        def __init__(self, documents, *args):
            events.append(len(documents))
            super().__init__(documents, *args)
            groups.append(self.process.pid)

        def finish(self, *args):
            super().finish(*args)
            events.extend(["finished", self.process.exitcode])

        def discard(self):
            super().discard()
            events.extend(["dropped", self.process.exitcode])

    monkeypatch.setattr(signals, "IndexBuiltAside", Recorded)
    return events


groups = []  # the process group of each index build started aside (its process's id)


def in_group(group):
    """The process ids in process group ``group`` (Linux's /proc: the fifth field of stat)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields and int(fields[2]) == group:
            found.append(int(stat.parent.name))
    return found


def test_a_large_batch_loads_in_worker_processes_as_one_file_at_a_time_would(tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    folder = write_corpus(tmp_path / "corpus", COUNT)
    monkeypatch.setattr(signals, "REBUILD_FROM", 100)  # the index is rebuilt aside, as for a migration
    seen = []
    monkeypatch.setattr(importer, "_in_workers", lambda f, items, processes, real=importer._in_workers: seen.append(len(items))
                        or real(f, items, processes))
    built_aside = record_builds_aside(monkeypatch)
    output = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # the index is rebuilt once the import commits
        call_command("import_content", str(folder), stdout=output)
    out = output.getvalue()
    assert f"{COUNT} created, 0 updated, 0 unchanged, 0 with errors" in out
    assert seen == [COUNT, COUNT], "files parsed and pages rendered in worker processes"
    # With Whoosh, the index was built in a process of its own while the import wrote; it is
    # the index a rebuild from the database gives.
    assert built_aside == ([Article.objects.published().count(), "finished", 0] if get_backend().builds_aside else [])
    assert get_backend().indexed_hashes() == expected_index()
    published = Article.objects.published().count()
    for stage in (f"read files: {COUNT}/{COUNT}", f"rendered: {COUNT}/{COUNT}", f"saved: {COUNT}/{COUNT}", f"indexed: {published}/{published}"):
        assert stage + "\n" in out, f"a line for the end of each stage, the writing and indexing included: {stage}"

    first, draft = Article.objects.get(slug=slug(3)), Article.objects.get(slug=slug(4))
    assert first.is_published and not draft.is_published
    html = first.sections.get(kind="overview").html
    assert 'Bulk topic 3 is a made-up condition' in html and "word3x" in html
    assert f'<a href="/conditions/{slug(5)}/">Bulk Topic 0005</a>' in html, "a link to a file later in the batch is a link"
    assert f'<a href="/conditions/{slug(5)}/">' in draft.sections.get(kind="overview").html
    # Every page is what rendering it again through the one-file path gives.
    for article in Article.objects.prefetch_related("sections"):
        before = {section.kind: section.html for section in article.sections.all()}
        article.render_sections()
        assert {section.kind: section.html for section in article.sections.all()} == before, article.slug
    assert first.reading_grade is not None and first.codes == ["M81.0"] and list(first.code_rows.values_list("code", flat=True)) == ["M810"]
    assert [c.name for c in first.categories.all()] == ["Bones, Joints & Muscles"]
    assert list(first.related.values_list("slug", flat=True)) == [slug(5)]
    assert set(ArticleLink.objects.filter(source=first).values_list("target_slug", flat=True)) == {slug(5)}
    assert ArticleSection.objects.filter(article__slug__startswith="bulk-topic-").count() == 2 * COUNT

    # One version each, with its sections, restorable as any other.
    versions = Version.objects.get_for_object(first)
    assert versions.count() == 1 and versions[0].revision.get_comment() == f"Imported from {slug(3)}.md"
    assert {v.object_repr for v in versions[0].revision.version_set.all()} >= {"Bulk Topic 0003", "Bulk Topic 0003 – Overview"}
    first.summary = "Changed by hand."
    first.save()
    first.sections.filter(kind="key_points").delete()
    versions[0].revision.revert(delete=True)
    first.refresh_from_db()
    assert first.summary == "A short summary of Bulk Topic 0003." and first.sections.count() == 2

    # Searchable at once: the published ones, not the drafts.
    assert [hit.slug for hit in get_backend().search("word3x")[:5]] == [slug(3)]
    assert slug(4) not in [hit.slug for hit in get_backend().search("word4x")[:20]]

    # Again: nothing changes, nothing is written twice.
    with django_capture_on_commit_callbacks(execute=True):
        status, out, errors = run_import(folder)
    assert f"0 created, 0 updated, {COUNT} unchanged" in out
    assert Version.objects.get_for_object(Article.objects.get(slug=slug(7))).count() == 1


def test_an_index_built_while_the_import_writes_holds_the_library_the_import_leaves(tmp_path, monkeypatch,
                                                                                    django_capture_on_commit_callbacks):
    """Articles stored before, untouched by the batch, are in it as they are; one the batch
    changes is indexed as changed (after the swap); the new ones as they were saved."""
    folder = write_corpus(tmp_path / "corpus", COUNT)
    # An existing article the batch changes, its title too; a new file links to it, so the new
    # page (rendered with the old title) is rendered again once the change is saved.
    shipped = (Path(settings.HEALTHLIB_CONTENT_DIR) / "osteoporosis.md").read_text()
    (folder / "osteoporosis.md").write_text(shipped.replace("title: Osteoporosis", "title: Osteoporosis Zyxtitle")
                                            .replace("A simple scan can find it early", "A simple scan, zyxscanword, finds it"))
    (folder / "bulk-linking.md").write_text(source_text("bulk-linking", body="## Overview\n\nRead about [[osteoporosis]].\n"))
    monkeypatch.setattr(signals, "REBUILD_FROM", 100)
    built_aside = record_builds_aside(monkeypatch)

    def and_an_editor_elsewhere(*args, real=importer._write_new):
        real(*args)  # meanwhile another server saves an article (its index update went to the index being replaced)
        edited = "Enthesitis, edited on another server: zyxelsewhere."
        assert Article.objects.filter(slug="enthesitis").update(summary=edited, updated_at=timezone.now())

    monkeypatch.setattr(importer, "_write_new", and_an_editor_elsewhere)
    with django_capture_on_commit_callbacks(execute=True):
        status, out, errors = run_import(folder)
    assert status == 0 and f"{COUNT + 1} created, 1 updated" in out, errors
    if not get_backend().builds_aside:
        pytest.skip("this search backend rebuilds in the database, after the import")
    assert built_aside == [Article.objects.published().count(), "finished", 0]
    assert get_backend().indexed_hashes() == expected_index()
    assert [hit.slug for hit in get_backend().search("zyxscanword")[:3]] == ["osteoporosis"]
    assert {"osteoporosis", "bulk-linking"} <= {hit.slug for hit in get_backend().search("zyxtitle")[:10]}
    assert [hit.slug for hit in get_backend().search("zyxelsewhere")[:3]] == ["enthesitis"]
    assert "septic-arthritis" in [hit.slug for hit in get_backend().search("septic arthritis")[:3]]
    assert [hit.slug for hit in get_backend().search("word7x")[:3]] == [slug(7)]


def test_an_import_that_fails_after_the_build_started_keeps_the_index_of_what_is_stored(tmp_path, monkeypatch,
                                                                                       django_capture_on_commit_callbacks):
    """Any failure, not only the database's (a broken pipe to ``| head``, an interrupt): the
    index built for the batch is dropped, never swapped in."""
    folder = write_corpus(tmp_path / "corpus", COUNT)
    monkeypatch.setattr(signals, "REBUILD_FROM", 100)
    built_aside = record_builds_aside(monkeypatch)

    def interrupted(*args, real=importer._write_new):
        real(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(importer, "_write_new", interrupted)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(KeyboardInterrupt):
        call_command("import_content", str(folder), stdout=io.StringIO())
    assert not Article.objects.filter(slug__startswith="bulk-topic-").exists()
    if get_backend().builds_aside:
        assert built_aside[1:] == ["dropped", -signal.SIGKILL]
    assert get_backend().indexed_hashes() == expected_index()
    assert not [hit for hit in get_backend().search("bulk topic word7x")[:20] if hit.slug.startswith("bulk-topic-")]


def test_an_index_build_that_fails_aside_is_rebuilt_and_leaves_no_process(tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    if not get_backend().builds_aside:
        pytest.skip("this search backend rebuilds in the database, after the import")
    folder = write_corpus(tmp_path / "corpus", COUNT)
    monkeypatch.setattr(signals, "REBUILD_FROM", 100)
    built_aside = record_builds_aside(monkeypatch)
    here, fed = os.getpid(), []

    def failing_aside(self, document, real=type(get_backend())._document_fields):
        if os.getpid() != here:  # in the process building aside
            fed.append(document.slug)
            if len(fed) == 150:  # Whoosh's first worker has had its 100 documents: it waits for more
                time.sleep(1)
                raise OSError(28, "No space left on device")
        return real(self, document)

    def hung(signum, frame):
        raise TimeoutError("the import waited for ever on a failed index build")

    monkeypatch.setattr(type(get_backend()), "_document_fields", failing_aside)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            status, out, errors = run_import(folder)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert status == 0 and f"{COUNT} created" in out, errors
    assert built_aside[1:] == ["finished", 1]
    assert get_backend().indexed_hashes() == expected_index()
    assert not list(Path(get_backend().path).glob("building-*")), "its half-built folder is removed"
    group = groups[-1]
    deadline = time.monotonic() + 10
    while in_group(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not in_group(group), "Whoosh's worker processes under the failed build end with it"


def test_a_bulk_write_the_database_refuses_drops_the_index_built_aside(tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    """Each file is then loaded on its own, and the index rebuilt from what was loaded."""
    folder = write_corpus(tmp_path / "corpus", COUNT)
    monkeypatch.setattr(signals, "REBUILD_FROM", 100)
    built_aside = record_builds_aside(monkeypatch)

    def refused(*args, real=importer._write_new):
        real(*args)
        raise DatabaseError("refused at the end of the bulk transaction")

    monkeypatch.setattr(importer, "_write_new", refused)
    with django_capture_on_commit_callbacks(execute=True):
        status, out, errors = run_import(folder)
    assert status == 0 and f"{COUNT} created" in out, errors
    if get_backend().builds_aside:
        assert built_aside[1:] == ["dropped", -signal.SIGKILL], "the index built aside was dropped, its processes ended"
    assert get_backend().indexed_hashes() == expected_index()


BREAKAGES = (
    (lambda stem: f"---\ntitle: [unclosed\nslug: {stem}\n---\n## Overview\n\nText\n".encode(), "not valid YAML"),
    (lambda stem: source_text(stem, categories="[Bones]").encode(), "unknown category 'Bones'"),
    (lambda stem: source_text(stem, body="## Overview\n\nSee [[no-such-topic]].\n").encode(), "link 'no-such-topic' names no article"),
    (lambda stem: source_text(stem, status="live").encode(), "unknown status 'live'"),
    (lambda stem: f"---\ntitle: Caf\xe9\nslug: {stem}\n---\n".encode("latin-1"), "not valid UTF-8"),
    (lambda stem: source_text(stem, codes="[Q99.999]").encode(), "Q99.999"),
)


def test_a_hundred_broken_files_among_good_ones_are_a_line_each_and_the_rest_load(tmp_path):
    folder = write_corpus(tmp_path / "corpus", COUNT)
    broken = {}
    for n in range(100):
        make, message = BREAKAGES[n % len(BREAKAGES)]
        path = folder / f"broken-{n:03d}.md"
        path.write_bytes(make(path.stem))
        broken[str(path)] = message
    status, out, errors = run_import(folder)
    assert status == 1 and f"{COUNT} created, 0 updated, 0 unchanged, 100 with errors" in out
    assert len(errors) == 100, errors[:5]
    for line in errors:
        path = line.split(":", 1)[0]
        assert path in broken and broken[path] in line, line
    assert Article.objects.count() - Article.objects.exclude(slug__startswith="bulk-topic-").count() == COUNT
    assert not Article.objects.filter(slug__startswith="broken-").exists()


def children(pid):
    """The process ids whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def test_an_import_killed_halfway_completes_when_run_again(tmp_path):
    """The real command, killed (SIGKILL) while its workers render, then run again. (A kill while
    it writes is the same case to the database: the transaction never commits.)"""
    folder = write_corpus(tmp_path / "corpus", COUNT)
    data = tmp_path / "data"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "healthlib.settings.test", "HEALTHLIB_TEST_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    process = subprocess.Popen([*manage, "import_content", str(folder)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("rendered: "):  # a tenth of the pages rendered, in worker processes
            workers = children(process.pid)
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, "killed before it finished"
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers and not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "its worker processes end with it"
    again = subprocess.run([*manage, "import_content", str(folder)], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{COUNT} created" in again.stdout or f"{COUNT} unchanged" in again.stdout
    database = sqlite3.connect(data / "test.sqlite3")
    counts = database.execute("""SELECT (SELECT count(*) FROM conditions_article), (SELECT count(DISTINCT slug) FROM conditions_article),
                                        (SELECT count(*) FROM conditions_articlesection), (SELECT count(*) FROM reversion_revision)""").fetchone()
    assert counts == (COUNT, COUNT, 2 * COUNT, COUNT), "every file once, each with one version"
    check = subprocess.run([*manage, "import_content", str(folder)], env=env, capture_output=True, text=True, timeout=300)
    assert f"0 created, 0 updated, {COUNT} unchanged" in check.stdout


def running(text):
    """The process ids whose command line holds ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def test_an_import_killed_while_its_index_builds_aside_leaves_no_process_and_completes_when_run_again(tmp_path):
    """Killed while it writes, its index half built in a process of its own (Whoosh's worker
    processes under that): they all end, and a second run loads and indexes everything."""
    count = signals.REBUILD_FROM + 20  # the shipped threshold: no setting to lower it from outside
    folder = write_corpus(tmp_path / "corpus", count)
    data = tmp_path / "data"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "healthlib.settings.test", "HEALTHLIB_TEST_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1",
           "SEARCH_BACKEND": "whoosh"}
    env.pop("DATABASE_URL", None)
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    process = subprocess.Popen([*manage, "import_content", str(folder)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith(f"rendered: {count}/{count}"):
            break
    renderers = set(children(process.pid))  # the render workers, ending
    aside, deadline = [], time.monotonic() + 60
    while not aside and time.monotonic() < deadline:  # the index build starts as the writing does
        aside = [pid for pid in children(process.pid) if pid not in renderers]
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL and aside, "killed while it wrote, its index building aside"
    # Every process it forked (the index build, Whoosh's workers under it) runs its command line.
    deadline = time.monotonic() + 90
    while running(str(folder)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running(str(folder)), "the index build and Whoosh's workers end with the import"
    again = subprocess.run([*manage, "import_content", str(folder)], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and f"{count} created" in again.stdout, again.stderr
    check = subprocess.run([*manage, "rebuild_index", "--check"], env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0 and "Index matches the database" in check.stdout, check.stdout + check.stderr


def test_former_addresses_and_refusals_follow_the_state_the_batch_leaves(tmp_path, client):
    folder = tmp_path / "batch"
    folder.mkdir()
    # A published file may not link to one the batch refuses (a review date in the future): it is refused in turn.
    (folder / "bulk-refused.md").write_text(source_text("bulk-refused", reviewed_on="2999-01-01", reviewed_by="Dr Example"))
    (folder / "bulk-linking.md").write_text(source_text("bulk-linking", body="## Overview\n\nSee [[bulk-refused]].\n"))
    # Two files naming one former address: the first keeps it; it answers 301 to the article.
    (folder / "bulk-first.md").write_text(source_text("bulk-first", redirect_from="[bulk-old-name]"))
    (folder / "bulk-second.md").write_text(source_text("bulk-second", redirect_from="[bulk-old-name, bulk-older-name]"))
    status, out, errors = run_import(folder)
    assert status == 1 and "2 created" in out and len(errors) == 2
    refused, linking = errors
    assert refused.startswith(str(folder / "bulk-refused.md")) and "in the future" in refused
    assert linking.startswith(str(folder / "bulk-linking.md")) and "[[bulk-refused]] links to an article that is missing" in linking
    assert client.get("/conditions/bulk-old-name/")["Location"] == "/conditions/bulk-first/"
    assert client.get("/conditions/bulk-older-name/")["Location"] == "/conditions/bulk-second/"
