from django.apps import AppConfig


class ConditionsConfig(AppConfig):
    name = "conditions"
    verbose_name = "Health library articles"

    def ready(self):
        from . import signals  # noqa: F401
        from .search import signals as search_signals  # noqa: F401
        from healthlib import pagecache

        pagecache.connect_signals()
