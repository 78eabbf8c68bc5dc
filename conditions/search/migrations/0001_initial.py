"""The search app takes over the index tables the articles app created (conditions.0005–0007):
state only, the tables and their rows stay as they are."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("conditions", "0009_search_models_to_search_app")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SearchEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("slug", models.SlugField(max_length=200, unique=True)),
                        ("url", models.CharField(max_length=300)),
                        ("title", models.CharField(max_length=200)),
                        ("names", models.JSONField(default=list)),
                        ("summary", models.TextField()),
                        ("sections", models.JSONField(default=list)),
                        ("categories", models.JSONField(default=list)),
                        ("content_hash", models.CharField(max_length=32)),
                        ("folded_title", models.TextField()),
                        ("folded_aka", models.TextField(blank=True)),
                        ("folded_summary", models.TextField()),
                        ("folded_body", models.TextField(blank=True)),
                        ("names_exact", models.TextField(blank=True)),
                        ("names_text", models.TextField(blank=True)),
                    ],
                    options={"ordering": ["slug"], "db_table": "conditions_searchentry"},
                ),
                migrations.CreateModel(
                    name="SearchWord",
                    fields=[("word", models.CharField(max_length=100, primary_key=True, serialize=False))],
                    options={"db_table": "conditions_searchword"},
                ),
            ],
            database_operations=[],
        ),
    ]
