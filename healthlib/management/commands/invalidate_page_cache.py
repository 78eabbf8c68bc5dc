"""Retire every cached page at once (``pagecache.bump_content_version``).

Run at each release, after ``migrate`` (``deploy/healthlib-release.service``, ``make setup``):
new code or templates may render any page differently, and the page cache outlives the
processes that filled it (Redis, or the file cache under the data directory).
"""

from django.core.management.base import BaseCommand, CommandError

from healthlib.pagecache import bump_content_version, pending_bump


class Command(BaseCommand):
    help = "Retire every cached page (run at each release)."

    def handle(self, *args, **options):
        bump_content_version()
        if pending_bump():
            raise CommandError("the cache cannot be reached, so cached pages were not retired; run this again once it is back")
        if options["verbosity"]:
            self.stdout.write("Cached pages retired: the next request for each page renders it afresh.")
