"""One gate for every change to an article: the admin form, list actions, restore,
recover and ``import_content --user`` all ask ``check_change`` before writing.

The rule, checked on the article *as it is in the database now* (never as a form or an
old version describes it): adding needs ``add_article``, changing needs
``change_article``, and anything that touches a published article or makes one
(publishing, unpublishing, editing live text) also needs ``publish_article``, which only
the Medical reviewer group holds. So live medical text changes only with a reviewer,
whichever path the change takes.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def can_publish(user):
    return user.has_perm("conditions.publish_article")


def check_change(user, current, new_status):
    """Raise ``PermissionDenied`` (with a message an editor can act on) unless ``user`` may
    turn ``current`` (the article as stored now, ``None`` when creating one) into an
    article with status ``new_status``."""
    from .models import Article

    if current is None and not user.has_perm("conditions.add_article"):
        raise PermissionDenied(_("You may not add articles."))
    if current is not None and not user.has_perm("conditions.change_article"):
        raise PermissionDenied(_("You may not change articles."))
    touches_live = new_status == Article.Status.PUBLISHED or (current is not None and current.status == Article.Status.PUBLISHED)
    if touches_live and not can_publish(user):
        raise PermissionDenied(_("Only a medical reviewer can publish, unpublish or change a published article."))


def may_change(user, current, new_status):
    """``check_change`` as a yes/no answer."""
    try:
        check_change(user, current, new_status)
    except PermissionDenied:
        return False
    return True
