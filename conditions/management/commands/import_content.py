from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from conditions.importer import import_content


class Command(BaseCommand):
    help = "Create or update articles from Markdown sources (see shared/content-format.md)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="Files or folders to load (default: the content/ folder).")

    def handle(self, *args, paths, **options):
        report = import_content(paths or [settings.HEALTHLIB_CONTENT_DIR])
        for error in report.errors:
            self.stderr.write(str(error))
        self.stdout.write(
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.errors)} with errors."
        )
        if report.errors:
            raise CommandError(f"{len(report.errors)} file(s) not loaded; see the lines above.", returncode=1)
