"""Keep the search's GIN indexes cheap to plan and to read (PostgreSQL only).

Measured on the 100k-product bench database (docs/performance.md, finding 12):
a GIN index with ``fastupdate`` keeps new entries in an unsorted pending list
until it reaches ``gin_pending_list_limit`` (4 MB by default) or a VACUUM
flushes it. Every non-HOT update of a product (a stock change, the ratings
update) adds its lexemes and name trigrams there, and every search reads the
whole list; the planner charges for it too. After 3,000 stock updates the
common-word search flipped from the two GIN indexes (BitmapOr, ~60-100 ms) to a
sequential scan (~400-800 ms), and a selective code went from 1.4 to 5.9 ms.
With a 64 kB list the plan stayed on the indexes after the same updates, for
~0.1 ms more per updated product (the list is merged more often); with
``fastupdate = off`` an update cost 2 to 4 times more.

The planner's row estimate for ``name %> text`` comes from the sampled
histogram of ``name``: with the default statistics target the common word was
estimated at 11,111 rows in one sample (8,146 true) and tipped to a sequential
scan; a target of 1000 samples every row up to 300k products, so the estimate
is exact and stable from one ANALYZE to the next.
"""

from django.db import migrations

INDEXES = ("catalog_prod_search", "catalog_prod_name_trgm")
FORWARD = [
    *(f"ALTER INDEX {index} SET (gin_pending_list_limit = 64)" for index in INDEXES),
    # Flush what the old limit let accumulate (a VACUUM would too).
    *(f"SELECT gin_clean_pending_list('{index}'::regclass)" for index in INDEXES),
    "ALTER TABLE catalog_product ALTER COLUMN name SET STATISTICS 1000",
    "ANALYZE catalog_product",
]
BACKWARD = [
    "ALTER TABLE catalog_product ALTER COLUMN name SET STATISTICS -1",
    *(f"ALTER INDEX {index} RESET (gin_pending_list_limit)" for index in INDEXES),
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
        ("catalog", "0004_product_visible_newest_index"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False),
    ]
