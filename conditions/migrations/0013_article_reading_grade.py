from django.db import migrations, models


def measure_existing(apps, schema_editor):
    """The grade of every article's saved text (conditions.readability: pure functions of text)."""
    from conditions import readability

    Article = apps.get_model("conditions", "Article")
    ArticleSection = apps.get_model("conditions", "ArticleSection")
    texts = {}
    for article_id, kind, text in ArticleSection.objects.values_list("article_id", "kind", "markdown"):
        texts.setdefault(article_id, {})[kind] = text
    for article_id, sections in texts.items():
        Article.objects.filter(pk=article_id).update(reading_grade=readability.of_sections(sections)[1].flesch_kincaid)


class Migration(migrations.Migration):
    dependencies = [("conditions", "0012_article_redirects")]

    operations = [
        migrations.AddField(
            model_name="article",
            name="reading_grade",
            field=models.FloatField(blank=True, editable=False, null=True, verbose_name="reading grade"),
        ),
        migrations.RunPython(measure_existing, migrations.RunPython.noop),
    ]
