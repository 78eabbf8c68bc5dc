"""``SearchEntry`` and ``SearchWord`` now belong to the search app (``conditions.search``).

State only: the tables keep their names and rows (``db_table`` on the moved models);
``search.0001_initial`` takes them over in the migration state.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("conditions", "0008_article_published_title")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel("SearchEntry"), migrations.DeleteModel("SearchWord")],
            database_operations=[],
        ),
    ]
