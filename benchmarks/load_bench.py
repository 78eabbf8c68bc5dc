"""Load test: the article and search pages under wrk, alone and while an editor publishes.

Embedded layout (SQLite in WAL mode, Whoosh, the file page cache) or production layout
(PostgreSQL, PostgreSQL search, Redis), production settings, gunicorn with 2 sync
workers, the shipped articles. Three runs of ``wrk -t2 -c64 -d20s`` from 127.0.0.1:

1. one article page;  2. the search page over 20 queries;
3. both at once while an editor process edits an article's summary and toggles another
   between published and draft every second (each save in its own transaction, with
   the search index and page cache following on commit).

Afterwards: zero non-2xx responses and socket errors, every edit present in the database,
and ``rebuild_index --check`` finding the index equal to the database.

    .venv/bin/python benchmarks/load_bench.py [--layout embedded|production] [--seconds 20]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from http_bench import PYTHON, QUERIES, ROOT, free_port, gunicorn, lua_paths, report, stop, wait_for, wrk

EDITOR = """
import os, sys, time, django
django.setup()
from django.db import transaction
from conditions.models import Article
seconds = int(sys.argv[1])
edits = 0
started = time.monotonic()
while time.monotonic() - started < seconds:
    with transaction.atomic():
        article = Article.objects.get(slug="osteoporosis")
        article.summary = f"Osteoporosis makes bones thin and weak. Load-test edit {edits}."
        article.save()
    with transaction.atomic():
        toggled = Article.objects.get(slug="sacroiliitis")
        toggled.status = "draft" if toggled.status == "published" else "published"
        toggled.save()
    edits += 1
    time.sleep(max(0.0, started + edits - time.monotonic()))
print(edits)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="healthlib-load-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "healthlib.settings.production", "SECRET_KEY": "load-test-only-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0", "SECURE_COOKIES": "0",
        "HEALTHLIB_REQUEST_LOG_LEVEL": "WARNING", "STATIC_ROOT": str(work / "static"), "HEALTHLIB_DATA_DIR": str(work / "data"),
        # A load test comes from one address: lift the per-client search limits (rate, and searches at once) for it.
        "HEALTHLIB_SEARCH_RATE_LIMIT": "100000000/60", "HEALTHLIB_SEARCH_CONCURRENCY": "0",
    })
    if args.layout == "embedded":
        env.update({"DATABASE_URL": f"sqlite:///{work}/load.sqlite3", "CACHE_URL": f"file://{work}/cache", "SEARCH_BACKEND": "whoosh"})
    else:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "healthlib_load"], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "healthlib_load"], check=True)
        subprocess.run(["redis-cli", "-n", "13", "FLUSHDB"], check=True, capture_output=True)
        env.update({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/healthlib_load", "REDIS_URL": "redis://127.0.0.1:6379/13",
                    "SEARCH_BACKEND": "postgres"})
    for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"], ["import_content"], ["rebuild_index"]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = gunicorn("healthlib.wsgi", env, port)
    failures = []
    try:
        wait_for(url + "/conditions/bone-marrow-edema/", server)
        search_lua = lua_paths(work / "search.lua", ["/search/?q=" + q.replace(" ", "+") for q in QUERIES])
        print(f"{args.layout} layout, gunicorn 2 sync workers, wrk -t2 -c64 -d{args.seconds}s", flush=True)
        results = {"article page": wrk(url + "/conditions/bone-marrow-edema/", args.seconds, connections=64)}
        report("article page", results["article page"])
        results["search page"] = wrk(url, args.seconds, search_lua, connections=64)
        report("search page", results["search page"])
        editor = subprocess.Popen([PYTHON, "-c", EDITOR, str(args.seconds)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        half = max(1, args.seconds // 2)
        mixed_pages = subprocess.Popen(["wrk", "-t1", "-c32", f"-d{half * 2}s", url + "/conditions/bone-marrow-edema/"],
                                       stdout=subprocess.PIPE, text=True)
        results["search page while publishing"] = wrk(url, half * 2, search_lua, connections=32)
        pages_out = mixed_pages.communicate(timeout=args.seconds + 120)[0]
        edits = int(editor.communicate(timeout=args.seconds + 120)[0].strip() or 0)
        report("search page (c32) while an editor publishes", results["search page while publishing"])
        bad_pages = "Non-2xx" in pages_out or "Socket errors" in pages_out
        print(f"  article page (c32) while an editor publishes: {pages_out.split('Requests/sec:')[1].split()[0]} req/s"
              + ("  (ERRORS: " + pages_out + ")" if bad_pages else ""), flush=True)
        if bad_pages:
            failures.append("errors on the article page during publishing")
        for label, (_, _, _, bad, socket_errors) in results.items():
            if bad or socket_errors:
                failures.append(f"{label}: {bad} non-2xx, socket errors {socket_errors or 'none'}")
        time.sleep(1)
        summary = subprocess.run([PYTHON, "manage.py", "shell", "-c",
                                  "from conditions.models import Article; print(Article.objects.get(slug='osteoporosis').summary)"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        print(f"  editor saved {edits} edits and {edits} publish/unpublish toggles; last summary: {summary!r}")
        if not summary.endswith(f"Load-test edit {edits - 1}."):
            failures.append(f"lost edit: expected edit {edits - 1}, found {summary!r}")
        check = subprocess.run([PYTHON, "manage.py", "rebuild_index", "--check"], cwd=ROOT, env=env, capture_output=True, text=True)
        print("  " + (check.stdout.strip().splitlines() or [""])[-1])
        if check.returncode:
            failures.append("index drift: " + check.stdout + check.stderr)
    finally:
        stop(server)
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))
    print("  zero errors, no lost edits, index matches the database")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
