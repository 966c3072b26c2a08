"""Catalog export: the database as interchange lines, streamed, in a deterministic order.

Order: categories parents first (by depth, then slug), products by sku, reviews
by product sku then author e-mail. Strings are compared by code point (the "C"
collation on PostgreSQL, BINARY on SQLite), so the order, and hence the bytes,
do not depend on the database's locale. Timestamps are written in UTC
("+00:00"): the database keeps instants, not the offsets they arrived with.

Soft-deleted products and their reviews are left out: the export is the live
catalog, and importing it must not resurrect anything.

Importing an export into an empty database and exporting again gives the same
bytes; exporting an import of a file F gives F in canonical form
(`interchange.canonical`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import TextIO

from django.db import connection, transaction
from django.db.models.functions import Collate

from storefront.catalog.interchange import (
    CategoryRecord,
    ProductRecord,
    ReviewRecord,
    dump_line,
)
from storefront.catalog.models import Category, Product, Review

CHUNK_SIZE = 2000


@dataclass
class ExportResult:
    categories: int = 0
    products: int = 0
    reviews: int = 0


def _bytewise(field: str) -> Collate:
    return Collate(field, "C" if connection.vendor == "postgresql" else "BINARY")


def category_lines(*, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    rows = (
        Category.objects.order_by("depth", _bytewise("slug"))
        .values_list("slug", "name", "parent__slug", "description")
        .iterator(chunk_size=chunk_size)
    )
    for slug, name, parent, description in rows:
        yield dump_line(
            CategoryRecord(slug=slug, name=name, parent=parent, description=description)
        )


def product_lines(*, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    rows = (
        Product.objects.order_by(_bytewise("sku"))
        .values_list(
            "sku",
            "slug",
            "name",
            "description",
            "category__slug",
            "price",
            "currency",
            "stock",
            "is_active",
            "is_featured",
            "attributes",
            "created_at",
        )
        .iterator(chunk_size=chunk_size)
    )
    for row in rows:
        record = ProductRecord(*row)
        record.created_at = record.created_at.astimezone(UTC)
        yield dump_line(record)


def review_lines(*, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    rows = (
        Review.objects.filter(product__deleted_at__isnull=True)
        .order_by(_bytewise("product__sku"), _bytewise("author__email"))
        .values_list("product__sku", "author__email", "rating", "title", "body", "created_at")
        .iterator(chunk_size=chunk_size)
    )
    for row in rows:
        record = ReviewRecord(*row)
        record.created_at = record.created_at.astimezone(UTC)
        yield dump_line(record)


def catalog_export(*, out: TextIO, chunk_size: int = CHUNK_SIZE) -> ExportResult:
    """Write the catalog to `out`, one line per object, from one consistent snapshot."""
    result = ExportResult()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            # One snapshot for the three queries: a review written between them
            # must not reference a product the export has not written.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for line in category_lines(chunk_size=chunk_size):
            out.write(line + "\n")
            result.categories += 1
        for line in product_lines(chunk_size=chunk_size):
            out.write(line + "\n")
            result.products += 1
        for line in review_lines(chunk_size=chunk_size):
            out.write(line + "\n")
            result.reviews += 1
    return result
