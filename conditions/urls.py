from django.urls import path, register_converter

from . import views
from .kinds import KIND_BY_PATH

app_name = "conditions"


class KindPathConverter:
    """The address prefix of a kind of article: ``conditions``, ``symptoms``, ``tests``, ``treatments``, ``body``."""

    regex = "|".join(sorted(KIND_BY_PATH))

    def to_python(self, value):
        return value

    def to_url(self, value):
        if value not in KIND_BY_PATH:
            raise ValueError(f"{value!r} is no kind's address prefix")
        return value


register_converter(KindPathConverter, "kind")

urlpatterns = [
    path("library/", views.library, name="library"),
    path("<kind:kind_path>/", views.article_index, name="index"),
    path("<kind:kind_path>/letter/<slug:letter>/", views.article_index, name="letter"),
    path("<kind:kind_path>/<slug:slug>/", views.article_detail, name="article"),
    path("categories/<slug:slug>/", views.category_detail, name="category"),
]
