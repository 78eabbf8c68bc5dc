"""WSGI entry point: Django, behind the layer that answers repeat anonymous requests from
the page cache without entering it (``healthlib.earlyhits``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthlib.settings.dev")

django_application = get_wsgi_application()

from healthlib.earlyhits import EarlyHitApplication  # noqa: E402  (needs the settings configured above)

application = EarlyHitApplication(django_application)
