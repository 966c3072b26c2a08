"""Catalog admin: N+1-free changelists and change pages, writes through the services,
and cache invalidation for every admin write path."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.cache import catalog_generation, product_generation
from storefront.catalog.models import Category, Product, Review
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


def count_queries(client, url) -> int:
    client.get(url)  # warm the per-process caches (content types) first
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def make_catalog(n: int) -> None:
    root = CategoryFactory()
    for _ in range(n):
        product = ProductFactory(category=CategoryFactory(parent=root))
        ProductImageFactory(product=product)
        ReviewFactory(product=product)


@pytest.mark.parametrize("model", ["category", "product", "review"])
def test_changelists_have_no_n_plus_one(admin_client, model):
    # given a small catalog, the query count of the changelist
    make_catalog(2)
    small = count_queries(admin_client, f"/admin/catalog/{model}/")
    # when the catalog grows
    make_catalog(10)
    # then the changelist costs the same number of queries
    assert count_queries(admin_client, f"/admin/catalog/{model}/") == small


def test_product_change_page_has_no_n_plus_one(admin_client):
    few = ProductFactory()
    ProductImageFactory(product=few)
    many = ProductFactory()
    ProductImageFactory.create_batch(8, product=many)
    small = count_queries(admin_client, f"/admin/catalog/product/{few.pk}/change/")
    assert count_queries(admin_client, f"/admin/catalog/product/{many.pk}/change/") == small


def test_category_and_review_change_pages_render(admin_client):
    review = ReviewFactory(
        product=ProductFactory(category=CategoryFactory(parent=CategoryFactory()))
    )
    assert count_queries(admin_client, f"/admin/catalog/review/{review.pk}/change/")
    category = review.product.category
    assert count_queries(admin_client, f"/admin/catalog/category/{category.pk}/change/")


def test_changelist_search_and_filters(admin_client):
    ProductFactory(name="Findable hammer", is_featured=True)
    for url in (
        "/admin/catalog/product/?q=hammer",
        "/admin/catalog/product/?deleted=yes",
        "/admin/catalog/product/?deleted=no&is_featured__exact=1",
        "/admin/catalog/category/?q=cat",
        "/admin/catalog/review/?q=review&rating=4",
    ):
        assert admin_client.get(url).status_code == 200


# --- writes -----------------------------------------------------------------------------------


def category_form(**values):
    return {"name": "Admin made", "slug": "admin-made", "description": "", **values}


def test_admin_category_add_and_move_go_through_the_services(
    admin_client, django_capture_on_commit_callbacks
):
    parent = CategoryFactory()
    before = catalog_generation()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/catalog/category/add/", category_form(parent=parent.pk)
        )
    assert response.status_code == 302
    made = Category.objects.get(slug="admin-made")
    assert (made.depth, made.path) == (1, f"{parent.path}{made.id.hex}/")
    assert catalog_generation() != before
    # move it to the root
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/catalog/category/{made.pk}/change/", category_form(parent="")
        )
    assert response.status_code == 302
    made.refresh_from_db()
    assert (made.depth, made.path) == (0, f"{made.id.hex}/")


def test_admin_refuses_a_category_cycle(admin_client):
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    response = admin_client.post(
        f"/admin/catalog/category/{root.pk}/change/",
        category_form(name=root.name, slug=root.slug, parent=child.pk),
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"descendant" in response.content
    root.refresh_from_db()
    assert root.parent is None


def test_admin_category_delete_invalidates_and_refuses_used_ones(
    admin_client, django_capture_on_commit_callbacks
):
    empty = CategoryFactory()
    used = CategoryFactory()
    ProductFactory(category=used)
    before = catalog_generation()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/catalog/category/{empty.pk}/delete/", {"post": "yes"})
    assert not Category.objects.filter(pk=empty.pk).exists()
    assert catalog_generation() != before
    admin_client.post(f"/admin/catalog/category/{used.pk}/delete/", {"post": "yes"})
    assert Category.objects.filter(pk=used.pk).exists()


def test_admin_category_bulk_delete_invalidates(admin_client, django_capture_on_commit_callbacks):
    selected = [CategoryFactory().pk, CategoryFactory().pk]
    before = catalog_generation()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/catalog/category/",
            {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
        )
    assert not Category.objects.filter(pk__in=selected).exists()
    assert catalog_generation() != before


def product_form(product, **values):
    return {
        "sku": product.sku,
        "slug": product.slug,
        "name": product.name,
        "description": "",
        "category": product.category_id,
        "price": "5.00",
        "currency": "USD",
        "stock": "1",
        "is_active": "on",
        "attributes": "{}",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        **values,
    }


def test_admin_product_save_invalidates_its_detail(
    admin_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    before = product_generation(product.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/catalog/product/{product.pk}/change/", product_form(product, name="New")
        )
    assert response.status_code == 302
    assert product_generation(product.pk) != before


def test_admin_refuses_the_sku_of_a_deleted_product(admin_client):
    deleted = ProductFactory(sku="GONE")
    deleted.delete()
    product = ProductFactory()
    response = admin_client.post(
        f"/admin/catalog/product/{product.pk}/change/", product_form(product, sku="GONE")
    )
    assert response.status_code == 200
    assert b"taken" in response.content


def test_admin_product_delete_is_soft_and_invalidates(
    admin_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    before = product_generation(product.pk)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/catalog/product/{product.pk}/delete/", {"post": "yes"})
    assert Product.all_objects.get(pk=product.pk).deleted_at is not None
    assert product_generation(product.pk) != before


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [("feature", "is_featured", True), ("unfeature", "is_featured", False)],
)
def test_admin_product_actions_invalidate(
    admin_client, django_capture_on_commit_callbacks, action, field, value
):
    product = ProductFactory(is_featured=not value)
    before = product_generation(product.pk)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/catalog/product/", {"action": action, "_selected_action": [product.pk]}
        )
    assert getattr(Product.objects.get(pk=product.pk), field) is value
    assert product_generation(product.pk) != before


def test_admin_bulk_delete_and_restore(admin_client, django_capture_on_commit_callbacks):
    products = ProductFactory.create_batch(2)
    selected = [p.pk for p in products]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/catalog/product/",
            {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
        )
    assert not Product.objects.filter(pk__in=selected).exists()
    before = catalog_generation()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/catalog/product/?deleted=yes",
            {"action": "restore", "_selected_action": selected},
        )
    assert Product.objects.filter(pk__in=selected).count() == 2
    assert catalog_generation() != before


def test_admin_review_save_and_delete_keep_ratings_right(
    admin_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    other = ProductFactory()
    review = ReviewFactory(product=product, rating=5)
    # moving the review to another product and changing its rating
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/catalog/review/{review.pk}/change/",
            {
                "product": other.pk,
                "author": review.author.pk,
                "rating": "2",
                "title": "Moved",
                "body": "",
            },
        )
    assert response.status_code == 302
    product.refresh_from_db()
    other.refresh_from_db()
    assert (product.review_count, product.rating_avg) == (0, None)
    assert (other.review_count, other.rating_avg) == (1, Decimal("2.00"))
    # deleting one, then a selection
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/admin/catalog/review/{review.pk}/delete/", {"post": "yes"})
    other.refresh_from_db()
    assert other.review_count == 0
    reviews = [ReviewFactory(product=other, author=UserFactory()) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/catalog/review/",
            {
                "action": "delete_selected",
                "_selected_action": [r.pk for r in reviews],
                "post": "yes",
            },
        )
    other.refresh_from_db()
    assert (other.review_count, Review.objects.count()) == (0, 0)


def test_category_admin_delete_reports_a_conflict_instead_of_failing(rf):
    # (the admin's own protection check usually stops this earlier)
    from django.contrib import admin as django_admin
    from django.contrib.messages.storage.fallback import FallbackStorage

    from storefront.catalog.admin import CategoryAdmin

    category = CategoryFactory()
    CategoryFactory(parent=category)
    request = rf.post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    CategoryAdmin(Category, django_admin.site).delete_model(request, category)
    assert Category.objects.filter(pk=category.pk).exists()
    assert "subcategories" in str(next(iter(request._messages)))
