"""Keep pages that link to an article correct when that article is deleted."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Article


@receiver(post_delete, sender=Article)
def rerender_articles_linking_to_deleted(sender, instance, **kwargs):
    # Runs inside the delete's transaction, after the row is gone: the links turn to text.
    for article in Article.objects.linking_to_any([instance.slug]):
        article.render_sections()
