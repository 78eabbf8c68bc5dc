"""The PostgreSQL search index on Django's own tools: the vectors become ``GeneratedField``
columns of ``SearchVector`` expressions and the indexes ``GinIndex`` entries in the model
state, replacing the hand-written SQL of conditions.0006–0007; the models become PostgreSQL only.

On PostgreSQL the old generated columns and indexes are dropped and the new ones added:
the database recomputes every row's vectors from its ``folded_*`` columns, so the index
keeps its rows and stays searchable without a rebuild. On any other database nothing
happens (``required_db_vendor``): the tables there were never used.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

OLD_SQL = [
    "DROP INDEX IF EXISTS conditions_searchword_trgm",
    "DROP INDEX IF EXISTS conditions_searchentry_names_trgm",
    "DROP INDEX IF EXISTS conditions_searchentry_vector",
    "ALTER TABLE conditions_searchentry DROP COLUMN IF EXISTS head_vector",
    "ALTER TABLE conditions_searchentry DROP COLUMN IF EXISTS vector",
]


def drop_hand_written_vectors(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in OLD_SQL:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_initial"),
    ]

    operations = [
        # Backwards, the new columns are removed by the operations below; the
        # hand-written ones come back with conditions.0006-0007 if those are unapplied.
        migrations.RunPython(drop_hand_written_vectors, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            name="searchentry",
            options={"ordering": ["slug"], "required_db_vendor": "postgresql"},
        ),
        migrations.AlterModelOptions(name="searchword", options={"required_db_vendor": "postgresql"}),
        TrigramExtension(),
        migrations.AddField(
            model_name="searchentry",
            name="head_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.CombinedSearchVector(
                        django.contrib.postgres.search.SearchVector("folded_title", config="english", weight="A"),
                        "||",
                        django.contrib.postgres.search.SearchVector("folded_aka", config="english", weight="B"),
                        django.contrib.postgres.search.SearchConfig("english"),
                    ),
                    "||",
                    django.contrib.postgres.search.SearchVector("folded_summary", config="english", weight="C"),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddField(
            model_name="searchentry",
            name="vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.CombinedSearchVector(
                        django.contrib.postgres.search.CombinedSearchVector(
                            django.contrib.postgres.search.SearchVector("folded_title", config="english", weight="A"),
                            "||",
                            django.contrib.postgres.search.SearchVector("folded_aka", config="english", weight="B"),
                            django.contrib.postgres.search.SearchConfig("english"),
                        ),
                        "||",
                        django.contrib.postgres.search.SearchVector("folded_summary", config="english", weight="C"),
                        django.contrib.postgres.search.SearchConfig("english"),
                    ),
                    "||",
                    django.contrib.postgres.search.SearchVector("folded_body", config="english", weight="D"),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="searchentry",
            index=django.contrib.postgres.indexes.GinIndex(fields=["vector"], name="search_entry_vector"),
        ),
        migrations.AddIndex(
            model_name="searchentry",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass("names_text", name="gin_trgm_ops"), name="search_entry_names_trgm"
            ),
        ),
        migrations.AddIndex(
            model_name="searchword",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass("word", name="gin_trgm_ops"), name="search_word_trgm"
            ),
        ),
    ]
