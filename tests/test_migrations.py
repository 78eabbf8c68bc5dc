"""The migrations describe the models exactly: a model change without its migration fails here."""

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exit:
        pytest.fail(f"a migration is missing (exit {exit.code}):\n{out.getvalue()}")


BEFORE_SEARCH_APP = "874a799"  # main just before the search models moved into the search app


@pytest.fixture
def database_url():
    """A scratch database of the kind the suite runs on (SQLite, or PostgreSQL in CI), dropped after."""
    from django.db import connection

    if connection.vendor != "postgresql":
        yield None  # the data directory's SQLite file
        return
    db = connection.settings_dict
    name = f"healthlib_migrate_{os.getpid()}"
    base = ["psql", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"], "-d", "postgres", "-q", "-c"]
    subprocess.run([*base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True, capture_output=True)
    subprocess.run([*base, f"CREATE DATABASE {name}"], check=True, capture_output=True)
    yield f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    subprocess.run([*base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)


def test_a_database_made_before_the_search_app_migrates_without_losing_anything(tmp_path, database_url):
    """Articles and history survive moving the index models to the search app and onto
    Django's generated search vectors; on PostgreSQL the index keeps its rows and finds them."""
    root = settings.BASE_DIR
    if subprocess.run(["git", "-C", str(root), "cat-file", "-e", f"{BEFORE_SEARCH_APP}^{{commit}}"], capture_output=True).returncode:
        pytest.fail(f"commit {BEFORE_SEARCH_APP} is not in this clone's history (a shallow clone?)")
    old = tmp_path / "old"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(root), "archive", BEFORE_SEARCH_APP], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    env = {**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")},
           "DJANGO_SETTINGS_MODULE": "healthlib.settings.dev", "HEALTHLIB_DATA_DIR": str(tmp_path / "data")}
    if database_url:
        env["DATABASE_URL"] = database_url

    def manage(tree, *args):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=tree, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage(old, "migrate", "--no-input")
    manage(old, "import_content")
    manage(old, "shell", "-c", "from conditions.models import SearchEntry, SearchWord; "
                               "SearchEntry.objects.create(slug='x', url='/x/', title='Quokka Fever', summary='s', content_hash='h', "
                               "folded_title='Quokka Fever', folded_summary='s', names=['Quokka Fever'], sections=[['overview', 'Quokka.']]); "
                               "SearchWord.objects.create(word='quokka')")
    before = manage(old, "shell", "-c", "from conditions.models import Article; from reversion.models import Version; "
                                        "print(Article.objects.count(), Version.objects.count())").split()[-2:]
    manage(root, "migrate", "--no-input")
    after = manage(root, "shell", "-c", "from conditions.models import Article; from reversion.models import Version; "
                                        "print(Article.objects.count(), Version.objects.count())").split()[-2:]
    assert after == before
    assert int(before[0]) > 30
    assert "No changes detected" in manage(root, "makemigrations", "--check", "--dry-run")
    if database_url:
        found = manage(root, "shell", "-c", "from conditions.search.postgres import PostgresSearchBackend; "
                                            "from conditions.search.models import SearchWord; "
                                            "print(PostgresSearchBackend().search('quokkas')[0].slug, SearchWord.objects.get().word)")
        assert found.split()[-2:] == ["x", "quokka"], "the index's rows survive, their vectors recomputed by the database"


@pytest.mark.django_db(transaction=True)
def test_pending_changes_saved_before_emergency_signs_and_codes_get_the_live_articles():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from conditions.models import Article, ArticleDraft

    # A transactional test may start from an emptied database: an article of its own.
    article = Article.objects.create(title="Quokka Fever", slug="quokka-fever", summary="s", status="published",
                                     emergency_signs=["A very high fever"])
    executor = MigrationExecutor(connection)
    executor.migrate([("conditions", "0014_article_emergency_signs")])
    try:
        old = executor.loader.project_state([("conditions", "0014_article_emergency_signs")]).apps
        content = {"title": "Quokka Fever", "slug": "quokka-fever", "summary": "Edited before the field existed."}
        old.get_model("conditions", "ArticleDraft").objects.create(article_id=article.pk, content=content)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    draft = ArticleDraft.objects.get(article=article)
    assert draft.content == {**content, "emergency_signs": ["A very high fever"], "codes": []}, \
        "the live article's signs (and codes, 0016): publishing keeps them"
