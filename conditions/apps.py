from django.apps import AppConfig


class ConditionsConfig(AppConfig):
    name = "conditions"
    verbose_name = "Health library articles"

    def ready(self):
        from . import signals

        signals.connect_page_cache_signals()
