from django.apps import AppConfig


class SearchConfig(AppConfig):
    """Site search as an app of its own inside ``conditions`` (as ``wagtail.search`` sits in
    ``wagtail``): the backend interface and backends, the index tables, the index signals,
    the search page and suggestions, and their template."""

    name = "conditions.search"
    label = "search"
    verbose_name = "Search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (index on commit)
