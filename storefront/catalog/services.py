"""Catalog writes. Each owns its transaction and invalidates the read cache."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.db import transaction
from django.db.models import Avg, Count, OuterRef, Subquery
from django.db.models.functions import Coalesce, Round

from storefront.catalog.cache import invalidate_catalog
from storefront.catalog.models import Product, Review


@transaction.atomic
def product_ratings_recompute(*, product_ids: Iterable[UUID] | None = None) -> int:
    """Recompute rating_avg and review_count from the reviews, in one UPDATE.

    `product_ids=None` recomputes every product (used after an import).
    Returns the number of products updated.
    """
    reviews = Review.objects.filter(product=OuterRef("pk")).values("product")
    avg = reviews.annotate(v=Round(Avg("rating"), 2)).values("v")
    count = reviews.annotate(c=Count("pk")).values("c")
    products = Product.all_objects.all()
    ids = None if product_ids is None else list(product_ids)
    if ids is not None:
        products = products.filter(pk__in=ids)
    updated = products.update(rating_avg=Subquery(avg), review_count=Coalesce(Subquery(count), 0))
    invalidate_catalog(product_ids=ids)
    return updated
