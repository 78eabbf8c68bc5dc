from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from conditions.importer import import_content
from conditions.progress import Progress


class Command(BaseCommand):
    help = "Create or update articles from Markdown sources (see shared/content-format.md)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="Files or folders to load (default: the content/ folder).")
        parser.add_argument(
            "--user", help="Import as this user: their permissions apply (an Editor cannot publish or change live "
                           "articles) and the versions are theirs. Default: the operator, unrestricted.")

        parser.add_argument(
            "--new-only", action="store_true",
            help="Only create articles the database does not have; never change one it has (make setup runs this on every "
                 "start, so a restart never undoes an edit, a withdrawal or a review made in the admin).")

    def handle(self, *args, paths, user=None, new_only=False, **options):
        acting = None
        if user:
            acting = get_user_model().objects.filter(username=user, is_active=True).first()
            if acting is None:
                raise CommandError(f"No active user named {user!r}.")
        progress = Progress(self.stdout) if options["verbosity"] else None
        report = import_content(paths or [settings.HEALTHLIB_CONTENT_DIR], user=acting, new_only=new_only, progress=progress)
        if progress is not None:
            progress.close()
        for error in report.errors:
            self.stderr.write(str(error))
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.errors)} with errors."
        )
        if report.errors:
            raise CommandError(f"{len(report.errors)} file(s) not loaded; see the lines above.", returncode=1)
