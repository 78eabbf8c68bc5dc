from django.apps import AppConfig


class ConditionsConfig(AppConfig):
    name = "conditions"
    verbose_name = "Health library articles"

    def ready(self):
        from healthlib import pagecache

        from . import signals  # noqa: F401

        pagecache.connect_signals()
