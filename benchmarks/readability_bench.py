"""Reading aids benchmark: how long the admin's readability endpoint takes to measure a
30,000-word section (issue 18: the aids stay responsive, under 100 ms).

The section is built from the shipped articles' own prose (every section but References,
repeated until it holds 30,000 words), so the word mix is real: the syllable cache
(``conditions.readability.syllables``) meets the vocabulary of a real article. Reported:
the first measurement in a fresh process (cold cache) and the median of the next 20.

    .venv/bin/python benchmarks/readability_bench.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthlib.settings.dev")


def main():
    import django

    django.setup()
    from conditions import readability
    from conditions.content_format import parse
    from conditions.models import SectionKind

    prose = "\n\n".join(
        readability.prose(text) for path in sorted((ROOT / "content").glob("*.md"))
        for kind, text in parse(path).sections.items() if kind != SectionKind.REFERENCES)
    words = prose.split()
    section = " ".join((words * (30000 // len(words) + 1))[:30000])
    started = time.perf_counter()
    stats = readability.measure_markdown(section)
    cold = (time.perf_counter() - started) * 1000
    warm = []
    for _ in range(20):
        started = time.perf_counter()
        readability.measure_markdown(section)
        warm.append((time.perf_counter() - started) * 1000)
    print(f"30,000-word section ({stats.words} words, {stats.sentences} sentences, grade {stats.flesch_kincaid:.1f}): "
          f"first {cold:.0f} ms (cold syllable cache), then median {statistics.median(warm):.0f} ms, max {max(warm):.0f} ms")


if __name__ == "__main__":
    main()
