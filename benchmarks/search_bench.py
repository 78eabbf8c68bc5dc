"""Search benchmark over a synthetic corpus (never shipped as content).

Builds 5,000 clearly synthetic articles by recombining the shipped articles' sections
under made-up titles ("Synthetic condition 0042 …"), indexes them with the Whoosh
backend into a temporary folder, then times a few hundred mixed queries (typos
included) in-process: search with snippets, autocomplete, and the spelling suggestion.

    make bench            # or: .venv/bin/python benchmarks/search_bench.py --articles 5000
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthlib.settings.dev")

import django  # noqa: E402

django.setup()

from conditions.content_format import parse  # noqa: E402
from conditions.markdown import render, plain_text  # noqa: E402
from conditions.search.documents import SearchDocument  # noqa: E402
from conditions.search.whoosh import WhooshSearchBackend  # noqa: E402
from django.conf import settings  # noqa: E402

QUERIES = ["bone marrow edema", "bone marow edema", "torn acl", "cushings", "avn", "high cholesterol", "oedema",
           "osteoporsis", "knee swelling", "stress fracture shin", "leukaemia", "vitamin d", "hip pain", "back pain",
           "rheumatoid", "infection bone", "synthetic condition 0042", "tendonitis", "kidney disease bones", "xyzzy"]
PREFIXES = ["oste", "avn", "bon", "cu", "hyp", "syn", "acl", "vit", "rh", "st"]


def corpus(count):
    sources = [parse(path) for path in sorted(settings.HEALTHLIB_CONTENT_DIR.glob("*.md"))]
    rng = random.Random(42)
    for n in range(count):
        base = rng.choice(sources)
        other = rng.choice(sources)
        sections = tuple((kind, plain_text(render(text))) for kind, text in {**other.sections, **base.sections}.items() if kind != "references")
        yield SearchDocument(
            slug=f"synthetic-{n:04d}",
            title=f"Synthetic condition {n:04d} {base.title}",
            url=f"/conditions/synthetic-{n:04d}/",
            summary=base.summary,
            aka=tuple(base.also_known_as[:3]),
            categories=("bones-joints-muscles",),
            sections=sections,
        )


def percentiles(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000, help="Synthetic articles to index.")
    parser.add_argument("--queries", type=int, default=300, help="Queries to time per measurement.")
    args = parser.parse_args()

    documents = list(corpus(args.articles))
    with tempfile.TemporaryDirectory() as folder:
        backend = WhooshSearchBackend(Path(folder))
        started = time.perf_counter()
        backend.rebuild(documents)
        print(f"index build: {args.articles} articles in {time.perf_counter() - started:.1f} s")
        rng = random.Random(7)
        backend.search("warm up")

        def timed(function, inputs):
            samples = []
            for _ in range(args.queries):
                value = rng.choice(inputs)
                start = time.perf_counter()
                function(value)
                samples.append((time.perf_counter() - start) * 1000)
            return percentiles(samples)

        print("search (snippets, facets, did-you-mean): p50 %.1f ms, p95 %.1f ms" % timed(backend.search, QUERIES))
        print("autocomplete:                           p50 %.1f ms, p95 %.1f ms" % timed(backend.autocomplete, PREFIXES))
        print("spelling suggestion alone:              p50 %.1f ms, p95 %.1f ms" % timed(backend.spelling, QUERIES))


if __name__ == "__main__":
    main()
