from django.apps import AppConfig


class ConditionsConfig(AppConfig):
    name = "conditions"
    verbose_name = "Health library articles"

    def ready(self):
        from . import signals  # noqa: F401
