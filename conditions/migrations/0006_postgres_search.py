"""PostgreSQL only: the search vector the database keeps itself, and the indexes search uses.

On any other database this migration does nothing (the Whoosh backend needs none of it).
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """ALTER TABLE conditions_searchentry ADD COLUMN vector tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('english', folded_title), 'A')
        || setweight(to_tsvector('english', folded_aka), 'A')
        || setweight(to_tsvector('english', folded_summary), 'B')
        || setweight(to_tsvector('english', folded_body), 'C')
    ) STORED""",
    "CREATE INDEX conditions_searchentry_vector ON conditions_searchentry USING GIN (vector)",
    "CREATE INDEX conditions_searchentry_names_trgm ON conditions_searchentry USING GIN (names_text gin_trgm_ops)",
    "CREATE INDEX conditions_searchword_trgm ON conditions_searchword USING GIN (word gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS conditions_searchword_trgm",
    "DROP INDEX IF EXISTS conditions_searchentry_names_trgm",
    "DROP INDEX IF EXISTS conditions_searchentry_vector",
    "ALTER TABLE conditions_searchentry DROP COLUMN IF EXISTS vector",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("conditions", "0005_search_entry")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
