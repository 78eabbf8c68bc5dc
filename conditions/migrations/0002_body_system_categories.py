from django.db import migrations

from conditions.categories import create_body_systems


def create_categories(apps, schema_editor):
    create_body_systems(apps.get_model("conditions", "Category"))


class Migration(migrations.Migration):
    dependencies = [("conditions", "0001_initial")]
    operations = [migrations.RunPython(create_categories, migrations.RunPython.noop)]
