from django.apps import AppConfig


class HealthlibConfig(AppConfig):
    name = "healthlib"
    verbose_name = "Health Library site"
