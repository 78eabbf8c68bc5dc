from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from conditions.content_format import ArticleSource, dump
from conditions.models import Article


class Command(BaseCommand):
    help = "Write every article (all statuses) to DIR as <slug>.md in the content format."

    def add_arguments(self, parser):
        parser.add_argument("directory", help="Folder to write into (created if missing; existing files are overwritten).")

    def handle(self, *args, directory, **options):
        target = Path(directory)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"cannot create {target}: {error.strerror}") from None
        articles = Article.objects.order_by("slug").prefetch_related("sections", "categories", "related")
        for article in articles:
            (target / f"{article.slug}.md").write_text(dump(ArticleSource.from_article(article)), encoding="utf-8")
        self.stdout.write(f"{len(articles)} article(s) written to {target}.")
