"""Site search: one backend interface, chosen by the ``HEALTHLIB_SEARCH_BACKEND`` setting.

Views call ``get_backend()`` and never know which engine answers. Whoosh, under the
data directory, is the embedded default.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


@cache
def get_backend():
    return import_string(settings.HEALTHLIB_SEARCH_BACKEND)(**settings.HEALTHLIB_SEARCH_OPTIONS)
