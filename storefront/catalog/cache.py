"""Catalog read cache: generation-numbered keys, bumped on every write.

Cached catalog responses are stored under keys that embed a generation number
kept in the cache itself. A write never deletes entries: it increments the
generation (after its transaction commits), so every later read builds a new
key and can never see data from before the write. Old entries age out by TTL.

Three generations:
* ``catalog`` covers lists and categories (lists, categories, search,
  featured...); every write bumps it;
* ``product:<id>`` covers one product's detail (and its reviews), so a stock
  change on one product does not evict every other product's detail;
* ``catalog:epoch`` is bumped by writes that do not say which products they
  touched (category renames, imports, a full ratings recompute): product
  details embed it with their own generation, so such a write reaches them too.

A generation missing from the cache (never written, or evicted) is seeded with
a random 62-bit number on first read, not 0: after an eviction, reads can never
land on entries written under an earlier generation.

Every write path calls `invalidate_catalog()` (API services, admin, import,
reviews, order stock changes). If the cache is down the calls do nothing (the
backend ignores errors) and reads fall back to the database.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from uuid import UUID

from django.core.cache import cache
from django.db import transaction

CATALOG_GENERATION_KEY = "catalog:gen"
CATALOG_EPOCH_KEY = "catalog:epoch"


def _product_generation_key(product_id: UUID | str) -> str:
    # Normalised: "…-…" and hex spellings of one id must name one generation.
    return f"catalog:product:{UUID(str(product_id))}:gen"


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # missing key (first write, or evicted): start a new series
        # add() rather than set(): a concurrent bump that got there first wins.
        if not cache.add(key, _seed(), timeout=None):
            cache.incr(key)


def _seed() -> int:
    return secrets.randbits(62) + 1


def catalog_generation() -> int:
    return cache.get(CATALOG_GENERATION_KEY) or 0


def product_generation(product_id: UUID | str) -> int:
    return cache.get(_product_generation_key(product_id)) or 0


def generation_keys(product_id: UUID | str | None = None) -> list[str]:
    """The cache keys of the generations a read depends on (see `read_generations`)."""
    if product_id is None:
        return [CATALOG_GENERATION_KEY]
    return [CATALOG_EPOCH_KEY, _product_generation_key(product_id)]


def read_generations(product_id: UUID | str | None = None) -> tuple[int, ...] | None:
    """The generations a cached read depends on, in one cache round trip.

    Lists and categories depend on the catalog generation; a product's detail
    and reviews on the epoch and that product's generation. Missing ones are
    seeded (see the module docstring). None when the cache is unreachable:
    the caller then neither reads nor writes cached entries.
    """
    keys = generation_keys(product_id)
    found = cache.get_many(keys)
    values = []
    for key in keys:
        value = found.get(key)
        if value is None:
            seed = _seed()
            # add(): a concurrent reader that seeded first wins; use its value.
            value = seed if cache.add(key, seed, timeout=None) else cache.get(key)
            if value is None:  # neither written nor readable: the cache is down
                return None
        values.append(int(value))
    return tuple(values)


def invalidate_catalog(*, product_ids: Iterable[UUID | str] | None = None) -> None:
    """Make every cached catalog read stale once the current transaction commits.

    Without `product_ids` every product detail goes stale as well (the epoch);
    with them only those products' details do, so pass them whenever you know
    exactly which products changed.
    """
    ids = list(product_ids or ())

    def bump() -> None:
        _bump(CATALOG_GENERATION_KEY)
        if not ids:  # scope unknown: product details must go stale too
            _bump(CATALOG_EPOCH_KEY)
        for product_id in ids:
            _bump(_product_generation_key(product_id))

    transaction.on_commit(bump)
