"""Indexes for the product list's in_stock filter and its -rating ordering.

?ordering=-rating sorts unrated products last (DESC NULLS LAST), which the
existing catalog_prod_rating index (DESC NULLS FIRST) cannot serve; SQLite has
no NULLS LAST in index definitions, so that one is PostgreSQL-only.
"""

from django.db import migrations, models


def _rating_index(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["stock"], name="catalog_prod_stock"),
        ),
        migrations.RunPython(
            _rating_index(
                "CREATE INDEX catalog_prod_rating_nl ON catalog_product (rating_avg DESC NULLS LAST)"
            ),
            _rating_index("DROP INDEX IF EXISTS catalog_prod_rating_nl"),
            elidable=False,
        ),
    ]
