"""Template context every page shares."""

from django.conf import settings


def site(request):
    """``site_name``: the site's name, from ``HEALTHLIB_SITE_NAME`` (set once, shown everywhere);
    ``emergency_number``: the number to call in an emergency, from ``HEALTHLIB_EMERGENCY_NUMBER``."""
    return {"site_name": settings.HEALTHLIB_SITE_NAME, "emergency_number": settings.HEALTHLIB_EMERGENCY_NUMBER}
