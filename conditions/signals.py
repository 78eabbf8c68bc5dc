"""Keep public pages right: pages linking to a deleted article are re-rendered, and the
shared page cache (``healthlib.pagecache``) is retired when, and only when, a change
patients can see commits."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from healthlib import pagecache

from .models import Article, ArticleImage, ArticleSection, Category, sections_rendered


@receiver(post_delete, sender=Article)
def rerender_articles_linking_to_deleted(sender, instance, **kwargs):
    # Runs inside the delete's transaction, after the row is gone: the links turn to text.
    for article in Article.objects.linking_to_any([instance.slug]):
        article.render_sections()


# What patients can see changed: only then are cached pages retired. Editors saving
# drafts, uploading images or submitting for review leave the public cache alone, so
# its version says nothing about editorial activity.

def _article_saved(sender, instance, raw=False, **kwargs):
    if instance.is_published or instance.was_published:
        pagecache.schedule_bump()


def _article_deleted(sender, instance, **kwargs):
    if instance.was_published or instance.is_published:
        pagecache.schedule_bump()


def _section_changed(sender, instance, **kwargs):
    if type(instance).article.is_cached(instance):
        live = instance.article.is_published or instance.article.was_published
    else:
        live = Article.objects.filter(pk=instance.article_id, status=Article.Status.PUBLISHED).exists()
    if live:
        pagecache.schedule_bump()


def _article_links_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    if isinstance(instance, Article) and (instance.is_published or instance.was_published):
        pagecache.schedule_bump()
    elif isinstance(instance, Article) and sender is Article.related.through:
        # A draft's related list is its own; a live page lists only published related articles.
        return
    elif not isinstance(instance, Article) and (
        pk_set is None or Article.objects.published().filter(pk__in=pk_set).exists()
    ):
        pagecache.schedule_bump()  # from the category side: a category's list of live articles changed


def _sections_rendered(sender, article, **kwargs):
    if article.is_published:
        pagecache.schedule_bump()


def _always(sender, **kwargs):
    pagecache.schedule_bump()


def connect_page_cache_signals():
    """Retire cached public pages when what they show changes (and only then)."""
    sections_rendered.connect(_sections_rendered, dispatch_uid="pagecache-sections-rendered")

    post_save.connect(_article_saved, sender=Article, dispatch_uid="pagecache-save-Article")
    post_delete.connect(_article_deleted, sender=Article, dispatch_uid="pagecache-delete-Article")
    post_save.connect(_section_changed, sender=ArticleSection, dispatch_uid="pagecache-save-ArticleSection")
    post_delete.connect(_section_changed, sender=ArticleSection, dispatch_uid="pagecache-delete-ArticleSection")
    # Category names and descriptions appear on live pages; an image deleted may be on one.
    for model, signal in ((Category, post_save), (Category, post_delete), (ArticleImage, post_delete)):
        signal.connect(_always, sender=model, dispatch_uid=f"pagecache-{signal is post_save}-{model.__name__}")
    for through in (Article.categories.through, Article.related.through):
        m2m_changed.connect(_article_links_changed, sender=through, dispatch_uid=f"pagecache-m2m-{through.__name__}")


# The editorial groups (migration 0004) work only in the admin, which lets staff in only:
# putting someone in one makes them staff, so they are never told their (right) password
# is wrong at sign-in.
EDITORIAL_GROUPS = ("Editor", "Medical reviewer")


@receiver(m2m_changed, sender=get_user_model().groups.through)
def editorial_groups_make_staff(sender, instance, action, reverse, pk_set, **kwargs):
    from django.contrib.auth.models import Group

    if action != "post_add" or not pk_set:
        return
    if reverse:  # group.user_set.add(...): ``instance`` is the group
        if instance.name in EDITORIAL_GROUPS:
            get_user_model().objects.filter(pk__in=pk_set, is_staff=False).update(is_staff=True)
        return
    if not instance.is_staff and Group.objects.filter(pk__in=pk_set, name__in=EDITORIAL_GROUPS).exists():
        instance.is_staff = True
        get_user_model().objects.filter(pk=instance.pk).update(is_staff=True)


@receiver(post_delete, sender=ArticleImage)
def remove_image_files(sender, instance, **kwargs):
    """A deleted image's files, renditions included, leave storage once the delete commits."""
    from django.core.files.storage import default_storage
    from django.db import transaction

    names = instance.file_names()  # now, while the instance still has its primary key

    def remove():
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(remove)
