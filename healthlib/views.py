"""Site-wide views that belong to no app: the favicon and the 404 page. (The home page and the health
check live in ``conditions.views``; the project package imports no app outside its URLconf.)"""

import re

from django.shortcuts import redirect, render
from django.templatetags.static import static


def favicon(request):
    """``/favicon.ico``: the site's icon, for browsers that ask without being told (the admin's pages)."""
    return redirect(static("favicon.svg"))  # the hashed name in production, so not permanent


def page_not_found(request, exception):
    """The 404 page (``handler404``), its search box filled with the words of the missing
    address, so one press searches for them: ``/conditions/bone-marow-edma/`` → "bone marow edma"."""
    return render(request, "404.html", {"missing_words": words_of_path(request.path)}, status=404)


def words_of_path(path):
    """The words of an address's last part (``str``, at most 200 characters; '' for none)."""
    parts = [part for part in path.split("/") if part]
    return " ".join(re.findall(r"[^\W_]+", parts[-1]))[:200] if parts else ""
