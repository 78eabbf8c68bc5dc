"""Site-wide views that belong to no app: the favicon. (The home page and the health
check live in ``conditions.views``; the project package imports no app outside its URLconf.)"""

from django.shortcuts import redirect
from django.templatetags.static import static


def favicon(request):
    """``/favicon.ico``: the site's icon, for browsers that ask without being told (the admin's pages)."""
    return redirect(static("favicon.svg"))  # the hashed name in production, so not permanent
