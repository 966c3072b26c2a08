"""Catalog read cache: generation-numbered keys, bumped on every write.

Cached catalog responses are stored under keys that embed a generation number
kept in the cache itself. A write never deletes entries: it increments the
generation (after its transaction commits), so every later read builds a new
key and can never see data from before the write. Old entries age out by TTL.

Two generations:
* ``catalog`` covers everything (lists, categories, search, featured...);
* ``product:<id>`` covers one product's detail (and its reviews), so a stock
  change on one product does not evict every other product's detail.

Every write path calls `invalidate_catalog()` (API services, admin, import,
reviews, order stock changes). If the cache is down the calls do nothing (the
backend ignores errors) and reads fall back to the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.core.cache import cache
from django.db import transaction

CATALOG_GENERATION_KEY = "catalog:gen"


def _product_generation_key(product_id: UUID | str) -> str:
    return f"catalog:product:{product_id}:gen"


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # missing key (first write, or evicted): start a new series
        # add() rather than set(): a concurrent bump that got there first wins.
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)


def catalog_generation() -> int:
    return cache.get(CATALOG_GENERATION_KEY) or 0


def product_generation(product_id: UUID | str) -> int:
    return cache.get(_product_generation_key(product_id)) or 0


def invalidate_catalog(*, product_ids: Iterable[UUID | str] | None = None) -> None:
    """Make every cached catalog read stale once the current transaction commits.

    `product_ids` also invalidates those products' detail entries; pass them
    whenever you know which products changed.
    """
    ids = list(product_ids or ())

    def bump() -> None:
        _bump(CATALOG_GENERATION_KEY)
        for product_id in ids:
            _bump(_product_generation_key(product_id))

    transaction.on_commit(bump)
