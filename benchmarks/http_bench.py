"""HTTP benchmark: the site under load on this machine, embedded and production layouts.

One run, so the ratios hold: a 5,000-article synthetic corpus (the shipped articles'
sections under made-up titles, written in the content format and loaded with
``import_content``), served by gunicorn (2 sync workers) with production settings, and
loaded with ``wrk -t2 -c32`` from 127.0.0.1 for a few seconds per line:

- baselines: the article page's bytes from a bare WSGI callable, and from a plain Django
  view with the default middleware;
- embedded (SQLite, Whoosh, file cache) and production (PostgreSQL, PostgreSQL search,
  Redis) layouts: one article page (page cache hits), 5,000 different article pages
  (mostly misses), and the search page over 20 queries.

    make bench-http        # or: .venv/bin/python benchmarks/http_bench.py --articles 5000
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
QUERIES = ["bone marrow edema", "torn acl", "cushings", "avn", "high cholesterol", "oedema", "knee swelling",
           "stress fracture", "leukaemia", "vitamin d", "hip pain", "back pain", "rheumatoid", "bone infection",
           "osteoporsis", "tendonitis", "kidney disease", "broken bones", "gout", "arthritis"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def gunicorn(app, env, port, workers=2):
    process = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", app, "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return process


def wrk(url, seconds, script=None, connections=32):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return rps, p50, p99, int(errors.group(1)) if errors else 0, socket_errors.group(1) if socket_errors else ""


def lua_paths(path, paths):
    lines = ",\n".join('"%s"' % p.replace('"', "") for p in paths)
    path.write_text(
        "local paths = {\n" + lines + "\n}\nmath.randomseed(7)\n"
        "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n"
    )
    return path


def report(label, result):
    rps, p50, p99, bad, socket_errors = result
    errors = f"   socket errors: {socket_errors}" if socket_errors else ""
    print(f"  {label:<52} {rps:9.0f} req/s   p50 {p50:>8}   p99 {p99:>8}   non-2xx {bad}" + errors, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--layouts", default="embedded,production")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="healthlib-http-bench-"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work):
    # The corpus, in the content format (benchmarks/search_bench.py writes it the same way).
    content = work / "content"
    content.mkdir()
    subprocess.run([PYTHON, "-c", f"""
import os, sys
sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); sys.path.insert(0, {str(ROOT)!r})
os.environ["HEALTHLIB_DATA_DIR"] = {str(work / 'corpus-data')!r}
os.environ["DJANGO_SETTINGS_MODULE"] = "healthlib.settings.dev"
import django; django.setup()
from pathlib import Path
from conditions.content_format import dump
from search_bench import synthetic_sources
for source in synthetic_sources({args.articles}):
    (Path({str(content)!r}) / f"{{source.slug}}.md").write_text(dump(source))
"""], check=True, cwd=ROOT)
    slugs = sorted(p.stem for p in content.glob("*.md"))
    article_path = f"/conditions/{slugs[42]}/"
    articles_lua = lua_paths(work / "articles.lua", [f"/conditions/{slug}/" for slug in slugs])
    search_lua = lua_paths(work / "search.lua", ["/search/?q=" + q.replace(" ", "+") for q in QUERIES])
    print(f"{len(slugs)} synthetic articles; wrk -t2 -c32 -d{args.seconds}s; gunicorn, 2 sync workers; 2 cores", flush=True)

    base_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    production = {
        **base_env,
        "DJANGO_SETTINGS_MODULE": "healthlib.settings.production",
        "SECRET_KEY": "benchmark-only-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0", "SECURE_COOKIES": "0",
        "HEALTHLIB_REQUEST_LOG_LEVEL": "WARNING",
        # wrk is one client: lift the per-client search limits (rate, and searches at once) for the benchmark.
        "HEALTHLIB_SEARCH_RATE_LIMIT": "100000000/60", "HEALTHLIB_SEARCH_CONCURRENCY": "0",
    }
    layouts = {
        "embedded": {"DATABASE_URL": f"sqlite:///{work}/embedded.sqlite3", "CACHE_URL": f"file://{work}/cache", "SEARCH_BACKEND": "whoosh",
                     "HEALTHLIB_DATA_DIR": str(work / "embedded")},
        "production": {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/healthlib_bench", "REDIS_URL": "redis://127.0.0.1:6379/14",
                       "SEARCH_BACKEND": "postgres", "HEALTHLIB_DATA_DIR": str(work / "production")},
    }
    page_file = None
    for name in args.layouts.split(","):
        env = {**production, **layouts[name], "STATIC_ROOT": str(work / "static")}
        if name == "production":
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "healthlib_bench"], check=True)
            subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "healthlib_bench"], check=True)
            subprocess.run(["redis-cli", "-n", "14", "FLUSHDB"], check=True, capture_output=True)

        def manage(*command):
            started = time.perf_counter()
            subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - started

        manage("migrate", "--no-input")
        manage("collectstatic", "--no-input")
        loaded = manage("import_content", str(ROOT / "content"), str(content))
        indexed = manage("rebuild_index")
        print(f"{name}: import_content {loaded:.0f} s, rebuild_index {indexed:.1f} s", flush=True)
        port = free_port()
        server = gunicorn("healthlib.wsgi", env, port)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(url + article_path, server)
            if page_file is None:
                page_file = work / "page.html"
                page_file.write_bytes(urllib.request.urlopen(url + article_path).read())
                baselines(args, page_file, base_env)
            report(f"{name}: one article page (page cache)", wrk(url + article_path, args.seconds))
            report(f"{name}: {len(slugs)} different article pages", wrk(url, args.seconds, articles_lua))
            report(f"{name}: search page, {len(QUERIES)} queries", wrk(url, args.seconds, search_lua))
        finally:
            stop(server)


def stop(server):
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def baselines(args, page_file, base_env):
    env = {**base_env, "BENCH_PAGE": str(page_file), "PYTHONPATH": str(ROOT / "benchmarks")}
    print(f"baselines, serving the same {page_file.stat().st_size:,} bytes:", flush=True)
    for label, app, extra in (("bare WSGI callable", "baseline_wsgi:bare", {}),
                              ("plain Django view, default middleware", "baseline_wsgi:django_app", {"BENCH_PLAIN_DJANGO": "1"})):
        port = free_port()
        server = gunicorn(app, {**env, **extra}, port)
        try:
            wait_for(f"http://127.0.0.1:{port}/", server)
            report(label, wrk(f"http://127.0.0.1:{port}/", args.seconds))
        finally:
            stop(server)


if __name__ == "__main__":
    main()
