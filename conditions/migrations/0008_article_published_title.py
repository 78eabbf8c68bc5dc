"""``Article.published_title``: the reviewed title that links on live pages may show while
the article is not published. Live articles start with their current title; articles
that are not live start blank (their links show the link text or the slug), since
their current title may be an unreviewed draft's."""

from django.db import migrations, models
from django.db.models import F


def fill_published_titles(apps, schema_editor):
    Article = apps.get_model("conditions", "Article")
    Article.objects.filter(status="published").update(published_title=F("title"))


class Migration(migrations.Migration):

    dependencies = [
        ("conditions", "0007_postgres_head_vector"),
    ]

    operations = [
        migrations.AddField(
            model_name="article",
            name="published_title",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.RunPython(fill_published_titles, migrations.RunPython.noop),
    ]
