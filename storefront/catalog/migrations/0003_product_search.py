"""Full-text and trigram search on products (PostgreSQL only; see catalog/search.py).

The generated column and the indexes are not part of Django's model state:
Django never reads or writes the column, and on SQLite (embedded mode) this
migration does nothing.
"""

from django.db import migrations

# Keep in step with storefront.catalog.search.DESCRIPTION_INDEXED_CHARS.
FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    ALTER TABLE catalog_product ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A')
        || setweight(
            to_tsvector('english'::regconfig, left(coalesce(description, ''), 100000)), 'B'
        )
    ) STORED
    """,
    "CREATE INDEX catalog_prod_search ON catalog_product USING GIN (search_vector)",
    "CREATE INDEX catalog_prod_name_trgm ON catalog_product USING GIN (name gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS catalog_prod_name_trgm",
    "DROP INDEX IF EXISTS catalog_prod_search",
    "ALTER TABLE catalog_product DROP COLUMN IF EXISTS search_vector",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_product_stock_rating_indexes"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False),
    ]
