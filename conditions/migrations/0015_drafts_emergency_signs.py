"""Pending changes saved before emergency signs existed get the live article's signs (none
then), so the form, the preview, the list of changes and publishing all read one value."""

from django.db import migrations


def add_emergency_signs(apps, schema_editor):
    ArticleDraft = apps.get_model("conditions", "ArticleDraft")
    for draft in ArticleDraft.objects.select_related("article").iterator():
        if "emergency_signs" not in draft.content:
            draft.content = {**draft.content, "emergency_signs": list(draft.article.emergency_signs)}
            draft.save(update_fields=["content"])


class Migration(migrations.Migration):
    dependencies = [("conditions", "0014_article_emergency_signs")]

    operations = [migrations.RunPython(add_emergency_signs, migrations.RunPython.noop)]
