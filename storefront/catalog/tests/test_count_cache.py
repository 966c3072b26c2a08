"""The page-number count is cached per catalog generation (catalog/api/pagination.py)."""

from __future__ import annotations

import pytest

from storefront.catalog import services
from storefront.catalog.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_a_second_page_reuses_the_count(api_client, django_assert_num_queries):
    # Given a list whose count is known (first page: count + page)
    ProductFactory.create_batch(5)
    assert api_client.get("/api/v1/products/", {"page_size": 2}).json()["count"] == 5
    # when another page of the same query is read, then no COUNT runs again
    with django_assert_num_queries(2):  # the page and its images: no COUNT
        body = api_client.get("/api/v1/products/", {"page_size": 2, "page": 2}).json()
    assert body["count"] == 5
    assert body["pages"] == 3


def test_a_catalog_write_makes_the_cached_count_stale(
    api_client, django_capture_on_commit_callbacks
):
    category = CategoryFactory()
    ProductFactory.create_batch(3, category=category)
    assert api_client.get("/api/v1/products/", {"page_size": 2}).json()["count"] == 3
    # When a product is created through the service (which bumps the generation
    # once the transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        services.product_create(
            sku="NEW-1", slug="new-1", name="New", category=category, price="9.99", stock=1
        )
    # then every later read counts again, on any page or page size
    assert api_client.get("/api/v1/products/", {"page_size": 3}).json()["count"] == 4


def test_the_count_is_per_query(api_client):
    ProductFactory.create_batch(3, stock=0)
    ProductFactory.create_batch(2, stock=5)
    assert api_client.get("/api/v1/products/").json()["count"] == 5
    assert api_client.get("/api/v1/products/", {"in_stock": "true"}).json()["count"] == 2
    assert api_client.get("/api/v1/products/", {"in_stock": "false"}).json()["count"] == 3


def test_an_empty_category_subtree_counts_zero(api_client):
    category = CategoryFactory()
    body = api_client.get(f"/api/v1/categories/{category.slug}/products/").json()
    assert body["count"] == 0
