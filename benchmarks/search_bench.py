"""Search benchmark over a synthetic corpus (never shipped as content).

Writes N clearly synthetic articles in the content format (the shipped articles'
sections recombined under made-up titles, "Synthetic condition 0042 …") into a
temporary folder, parses them back, indexes them with the configured backend and times
a few hundred mixed queries (typos included) through the real views, in-process with
Django's test client: ``/search/`` (snippets, category counts, did-you-mean) and
``/search/suggest/``. Everything lives in a temporary data directory.

    make bench            # or: .venv/bin/python benchmarks/search_bench.py --articles 5000
"""

import argparse
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.TemporaryDirectory(prefix="healthlib-bench-")
os.environ["HEALTHLIB_DATA_DIR"] = DATA_DIR.name
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthlib.settings.dev")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from conditions.content_format import dump, parse  # noqa: E402
from conditions.markdown import plain_text, render  # noqa: E402
from conditions.models import Article  # noqa: E402
from conditions.search import get_backend  # noqa: E402
from conditions.search.documents import SearchDocument  # noqa: E402

QUERIES = ["bone marrow edema", "torn acl", "cushings", "avn", "high cholesterol", "oedema", "knee swelling",
           "stress fracture shin", "leukaemia", "vitamin d", "hip pain", "back pain", "rheumatoid", "infection bone",
           "synthetic condition 0042", "tendonitis", "kidney disease bones", "broken bones", "when to see a doctor"]
TYPOS = ["bone marow edema", "osteoporsis", "rheumatiod arthritis", "tendonitus", "fibromyalga", "xyzzy"]
PREFIXES = ["oste", "avn", "bon", "cu", "hyp", "syn", "acl", "vit", "rh", "st", "b", "synthetic condition 01"]


def synthetic_sources(count):
    shipped = [parse(path) for path in sorted(settings.HEALTHLIB_CONTENT_DIR.glob("*.md"))]
    rng = random.Random(42)
    for n in range(count):
        base, other = rng.choice(shipped), rng.choice(shipped)
        yield dataclasses.replace(
            base,
            title=f"Synthetic condition {n:04d} {base.title}",
            slug=f"synthetic-{n:04d}",
            related=[],
            status=Article.Status.PUBLISHED,
            sections={**other.sections, **base.sections},
        )


def document(source):
    return SearchDocument(
        slug=source.slug,
        title=source.title,
        url=f"/conditions/{source.slug}/",
        summary=source.summary,
        aka=tuple(source.also_known_as),
        categories=tuple(source.categories),
        sections=tuple((kind, plain_text(render(text))) for kind, text in source.sections.items() if kind != "references"),
    )


def percentiles(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000, help="Synthetic articles to index.")
    parser.add_argument("--queries", type=int, default=300, help="Requests to time per measurement.")
    args = parser.parse_args()

    settings.DEBUG = False  # no query log
    call_command("migrate", verbosity=0)
    folder = Path(DATA_DIR.name) / "synthetic-content"
    folder.mkdir()
    started = time.perf_counter()
    for source in synthetic_sources(args.articles):
        (folder / f"{source.slug}.md").write_text(dump(source))
    documents = [document(parse(path)) for path in sorted(folder.glob("*.md"))]
    print(f"corpus: {len(documents)} synthetic articles written and parsed in {time.perf_counter() - started:.1f} s")

    backend = get_backend()
    started = time.perf_counter()
    processes = min(2, os.cpu_count() or 1)
    backend.rebuild(documents, processes=processes)
    print(f"index build ({settings.HEALTHLIB_SEARCH_BACKEND}, {processes} processes): {time.perf_counter() - started:.1f} s")

    client = Client(SERVER_NAME="127.0.0.1")
    rng = random.Random(7)

    def timed(path, inputs):
        client.get(path, {"q": "warm up"})  # the first request opens the index
        samples = []
        for _ in range(args.queries):
            url = f"{path}?{urlencode({'q': rng.choice(inputs)})}"
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        return percentiles(samples)

    print("/search/ mixed queries (snippets, counts, did-you-mean): p50 %5.1f ms, p95 %5.1f ms" % timed("/search/", QUERIES + TYPOS))
    print("/search/ misspelled queries only (spelling + retry):     p50 %5.1f ms, p95 %5.1f ms" % timed("/search/", TYPOS))
    print("/search/suggest/ prefixes:                               p50 %5.1f ms, p95 %5.1f ms" % timed("/search/suggest/", PREFIXES))

    samples = []
    for _ in range(args.queries):
        text = rng.choice(QUERIES + TYPOS)
        start = time.perf_counter()
        backend.spelling(text)
        samples.append((time.perf_counter() - start) * 1000)
    print("spelling suggestion alone (backend call):                p50 %5.1f ms, p95 %5.1f ms" % percentiles(samples))


if __name__ == "__main__":
    main()
