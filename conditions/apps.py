from django.apps import AppConfig


class ConditionsConfig(AppConfig):
    name = "conditions"
    verbose_name = "Health library articles"

    def ready(self):
        from healthlib import pagecache

        from . import signals  # noqa: F401
        from .search import signals as search_signals  # noqa: F401

        pagecache.connect_signals()
