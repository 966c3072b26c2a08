"""Catalog import: stream interchange lines into the database, batched, all or nothing.

`catalog_import()` reads lines one at a time (never the whole file), validates
each (format: `interchange`; cross-line and database rules: here) and upserts
in batches: categories by slug, products by sku, reviews by (product, author).
Reviewers are matched by e-mail whatever its case; missing ones become customer
accounts without a usable password.

The whole import is one transaction. Without `skip_invalid`, the first invalid
line raises `ImportLineError` (line number and reason) and nothing is written.
With it, invalid lines go to `on_reject` and the rest is imported; a product or
review whose category or product was rejected is rejected in turn.

Rules across lines: categories come first (each after its parent), then products,
then reviews; category slugs, skus, product slugs and (product, author) pairs
are unique within the file; a category's parent appears earlier in the file or
exists in the database; a product's slug may not belong to another sku in the
database; a review's product is in the file or the database (not soft-deleted).
Importing a soft-deleted product's sku restores it: the file says it exists.

Re-parenting an existing category rewrites the paths of its whole subtree
(descendants not in the file included) and is refused if it would create a
cycle or make the tree deeper than `CATEGORY_MAX_DEPTH`.

Modules: `service` (the run: lines, products, reviews, reviewers), `tree`
(the category tree), `upsert` (batched writes: COPY on PostgreSQL).
"""

from storefront.catalog.importer.service import (
    ImportLineError,
    ImportResult,
    RejectHandler,
    catalog_import,
)

__all__ = ["ImportLineError", "ImportResult", "RejectHandler", "catalog_import"]
