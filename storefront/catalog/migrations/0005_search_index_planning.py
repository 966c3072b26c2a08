"""Keep the search's GIN indexes cheap to read and to plan (PostgreSQL only).

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

Not done here: a statistics target of 1000 on ``name`` made the row estimate
of ``name %> text`` exact (the default's sample put the common word at 11,111
rows for 8,146 and tipped it to a sequential scan in one ANALYZE in four), but
pg_trgm's estimator evaluates the operator on every histogram entry at each
planning: 5-6 ms of planning per search instead of ~1 ms, which doubled the
selective search's SQL. Measured on the same database, so left at the default.
"""

from django.db import migrations

INDEXES = ("catalog_prod_search", "catalog_prod_name_trgm")
FORWARD = [
    *(f"ALTER INDEX {index} SET (gin_pending_list_limit = 64)" for index in INDEXES),
    # Flush what the old limit let accumulate (a VACUUM would too).
    *(f"SELECT gin_clean_pending_list('{index}'::regclass)" for index in INDEXES),
]
BACKWARD = [
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
