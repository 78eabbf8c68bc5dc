"""PostgreSQL only: a small vector of the names and summary, for a cheap first ranking pass.

When a query matches more articles than ``postgres.FULL_RANK_LIMIT``, the backend ranks
them by this small vector first and applies the full ranking (whose ``ts_rank`` reads
each article's whole text vector) to the best of them only.
"""

from django.db import migrations

FORWARD = [
    """ALTER TABLE conditions_searchentry ADD COLUMN head_vector tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('english', folded_title), 'A')
        || setweight(to_tsvector('english', folded_aka), 'A')
        || setweight(to_tsvector('english', folded_summary), 'B')
    ) STORED""",
]
BACKWARD = ["ALTER TABLE conditions_searchentry DROP COLUMN IF EXISTS head_vector"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("conditions", "0006_postgres_search")]

    operations = [migrations.RunPython(run(FORWARD), run(BACKWARD))]
