"""Template context every page shares."""

from django.conf import settings


def site(request):
    """``site_name``: the site's name, from ``HEALTHLIB_SITE_NAME`` (set once, shown everywhere)."""
    return {"site_name": settings.HEALTHLIB_SITE_NAME}
