import os

from django.core.management.base import BaseCommand, CommandError

from conditions.models import Article
from conditions.progress import Progress
from conditions.search import get_backend
from conditions.search.base import SearchUnavailable
from conditions.search.documents import SearchDocument
from conditions.search.signals import rebuild_index


class Command(BaseCommand):
    help = "Rebuild the search index from the database (built aside, then swapped in atomically)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only report drift between the database and the index; exit 1 if there is any.")
        parser.add_argument(
            "--processes", type=int, default=min(2, os.cpu_count() or 1),
            help="Processes indexing in parallel (default: 2 when the machine has two cores or more).",
        )

    def handle(self, *args, check, processes, **options):
        articles = Article.objects.published().order_by("slug").prefetch_related("sections", "categories")
        if check:
            return self.check_drift(articles)
        progress = Progress(self.stdout)
        total = rebuild_index(progress.stage("indexed", articles.count()), processes=processes)
        progress.close()
        self.stdout.write(f"Indexed {total} published article(s).")

    def check_drift(self, articles):
        expected = {article.slug: SearchDocument.from_article(article).content_hash for article in articles}
        try:
            indexed = get_backend().indexed_hashes()
        except SearchUnavailable as error:
            raise CommandError(f"the search index cannot be read ({error}); run 'manage.py rebuild_index'") from None
        missing = sorted(set(expected) - set(indexed))
        extra = sorted(set(indexed) - set(expected))
        stale = sorted(slug for slug in set(expected) & set(indexed) if expected[slug] != indexed[slug])
        for label, slugs in (("missing", missing), ("stale", stale), ("extra", extra)):
            for slug in slugs:
                self.stdout.write(f"{label}: {slug}")
        if missing or stale or extra:
            raise CommandError(
                f"index drift: {len(missing)} missing, {len(stale)} stale, {len(extra)} extra; run 'manage.py rebuild_index'",
                returncode=1,
            )
        self.stdout.write(f"Index matches the database ({len(expected)} published article(s)).")
