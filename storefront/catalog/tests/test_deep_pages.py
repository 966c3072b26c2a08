"""Deep pages are selected by id first (catalog/api/pagination.py): the same
rows in the same order as a plain OFFSET, in the same number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from storefront.catalog.api import pagination
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    """30 products: two share a timestamp (the id breaks the tie), one is hidden."""
    category = CategoryFactory()
    now = timezone.now()
    products = [ProductFactory(category=category, name=f"Lamp {i:02d}") for i in range(30)]
    for i, product in enumerate(products):
        stamp = now - timedelta(minutes=i if i != 7 else 6)  # 6 and 7 share one
        Product.objects.filter(pk=product.pk).update(created_at=stamp)
    Product.objects.filter(pk=products[12].pk).update(is_active=False)
    return category


def _pages(api_client, params: dict) -> list[str]:
    ids: list[str] = []
    page = 1
    while True:
        body = api_client.get("/api/v1/products/", {**params, "page": page}).json()
        ids += [item["id"] for item in body["results"]]
        if not body["links"]["next"]:
            return ids
        page += 1


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 4},
        {"page_size": 4, "ordering": "price"},
        {"page_size": 4, "ordering": "-rating"},
        {"page_size": 4, "search": "lamp"},
        {"page_size": 4, "min_price": "0.01", "in_stock": "true"},
    ],
    ids=["newest", "price", "rating", "search", "filters"],
)
def test_deep_pages_hold_the_same_rows_in_the_same_order(api_client, catalog, params, monkeypatch):
    # given every page read with plain OFFSETs
    monkeypatch.setattr(pagination, "DEFERRED_JOIN_FROM", 10**9)
    plain = _pages(api_client, params)

    # when pages from the 8th row on are selected by id first
    monkeypatch.setattr(pagination, "DEFERRED_JOIN_FROM", 8)
    deferred = _pages(api_client, params)

    # then the reader sees exactly the same list
    assert deferred == plain
    assert len(plain) == len(set(plain))


def test_a_deep_page_is_still_one_statement_using_the_ids_subquery(
    api_client, catalog, monkeypatch
):
    monkeypatch.setattr(pagination, "DEFERRED_JOIN_FROM", 8)
    api_client.get("/api/v1/products/", {"page_size": 4})  # the count, cached
    with CaptureQueriesContext(connection) as queries:
        body = api_client.get("/api/v1/products/", {"page_size": 4, "page": 3}).json()

    assert len(body["results"]) == 4
    product_queries = [q["sql"] for q in queries if 'FROM "catalog_product"' in q["sql"]]
    assert len(product_queries) == 1  # the page (images are the other query)
    assert product_queries[0].count("SELECT") == 2  # ... WHERE id IN (SELECT id ... OFFSET 8)
    assert "OFFSET 8" in product_queries[0]
