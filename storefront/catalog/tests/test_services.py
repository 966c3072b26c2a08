"""Catalog services: tree maintenance, product writes, reviews and denormalised ratings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog import services
from storefront.catalog.cache import catalog_generation, product_generation
from storefront.catalog.models import Category, Product, Review
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ReviewFactory,
)
from storefront.core.exceptions import Conflict

pytestmark = pytest.mark.django_db


# --- categories -------------------------------------------------------------------------


def test_category_create_sets_path_and_depth():
    root = services.category_create(slug="a", name="A")
    child = services.category_create(slug="b", name="B", parent=root)
    assert (root.depth, root.path) == (0, f"{root.id.hex}/")
    assert (child.depth, child.path) == (1, f"{root.id.hex}/{child.id.hex}/")


def test_category_create_with_a_taken_slug_is_a_conflict():
    # (the serializer catches this first; the service guards the race)
    CategoryFactory(slug="taken")
    with pytest.raises(Conflict):
        services.category_create(slug="taken", name="X")


def test_category_update_with_a_taken_slug_is_a_conflict():
    CategoryFactory(slug="taken")
    category = CategoryFactory()
    with pytest.raises(Conflict):
        services.category_update(category=category, slug="taken")


def test_category_move_rewrites_the_subtree_in_one_update(django_assert_max_num_queries):
    # given a -> b -> c -> d and a second root x
    a = CategoryFactory()
    b = CategoryFactory(parent=a)
    c = CategoryFactory(parent=b)
    d = CategoryFactory(parent=c)
    x = CategoryFactory()
    # when b moves under x
    services.category_update(category=b, parent=x)
    # then b, c and d have new paths and depths
    b, c, d = (Category.objects.get(pk=obj.pk) for obj in (b, c, d))
    assert b.path == f"{x.id.hex}/{b.id.hex}/"
    assert c.path == f"{b.path}{c.id.hex}/"
    assert d.path == f"{c.path}{d.id.hex}/"
    assert (b.depth, c.depth, d.depth) == (1, 2, 3)
    assert Category.objects.get(pk=a.pk).path == f"{a.id.hex}/"


def test_category_update_without_a_parent_change_does_not_move():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    services.category_update(category=child, parent=root, name="Renamed")
    child.refresh_from_db()
    assert (child.name, child.path) == ("Renamed", f"{root.id.hex}/{child.id.hex}/")


def test_category_move_into_own_subtree_is_refused():
    a = CategoryFactory()
    b = CategoryFactory(parent=a)
    with pytest.raises(ValidationError):
        services.category_update(category=a, parent=b)
    with pytest.raises(ValidationError):
        services.category_update(category=a, parent=a)


def test_category_move_sees_the_current_tree_not_a_stale_instance():
    # given a stale copy of `a` taken before b moved under it
    a = CategoryFactory()
    b = CategoryFactory()
    stale_b = Category.objects.get(pk=b.pk)
    services.category_update(category=a, parent=b)
    # when moving b under a using the stale copy, then the cycle is still caught
    with pytest.raises(ValidationError):
        services.category_update(category=stale_b, parent=a)


def test_category_delete_refuses_children_and_products():
    root = CategoryFactory()
    CategoryFactory(parent=root)
    with pytest.raises(Conflict) as info:
        services.category_delete(category=root)
    assert info.value.detail.code == "category_has_children"
    leaf = CategoryFactory()
    ProductFactory(category=leaf)
    with pytest.raises(Conflict) as info:
        services.category_delete(category=leaf)
    assert info.value.detail.code == "category_has_products"


# --- products ---------------------------------------------------------------------------


def test_product_create_and_update_reject_unknown_fields():
    with pytest.raises(TypeError):
        services.product_create(sku="x", colour="red")
    with pytest.raises(TypeError):
        services.product_update(product=ProductFactory(), colour="red")


def test_product_create_with_a_taken_sku_is_a_conflict():
    existing = ProductFactory()
    with pytest.raises(Conflict):
        services.product_create(
            sku=existing.sku,
            slug="other",
            name="Other",
            category=existing.category,
            price=Decimal("1.00"),
        )


def test_product_set_featured_is_idempotent():
    product = ProductFactory()
    services.product_set_featured(product=product, featured=True)
    services.product_set_featured(product=product, featured=True)
    product.refresh_from_db()
    assert product.is_featured


def test_product_image_add_appends_and_requires_url_xor_file():
    product = ProductFactory()
    ProductImageFactory(product=product, position=4)
    image = services.product_image_add(product=product, url="https://x.test/a.png")
    assert image.position == 5
    assert (
        services.product_image_add(product=ProductFactory(), url="https://x.test/b").position == 0
    )
    with pytest.raises(ValidationError):
        services.product_image_add(product=product)
    with pytest.raises(ValidationError):
        services.product_image_add(
            product=product,
            url="https://x.test/a.png",
            file=SimpleUploadedFile("a.png", b"x"),
        )


# --- reviews and ratings -------------------------------------------------------------------


def test_review_create_updates_ratings_in_the_same_transaction():
    product = ProductFactory()
    services.review_create(product=product, author=UserFactory(), rating=5, title="a")
    services.review_create(product=product, author=UserFactory(), rating=2, title="b")
    product.refresh_from_db()
    assert (product.review_count, product.rating_avg) == (2, Decimal("3.50"))


def test_review_create_refuses_second_review_and_unavailable_products():
    review = ReviewFactory()
    with pytest.raises(Conflict) as info:
        services.review_create(product=review.product, author=review.author, rating=1, title="x")
    assert info.value.detail.code == "already_reviewed"
    deleted = ProductFactory()
    deleted.delete()
    for product in (ProductFactory(is_active=False), deleted):
        with pytest.raises(Conflict) as info:
            services.review_create(product=product, author=UserFactory(), rating=1, title="x")
        assert info.value.detail.code == "product_unavailable"


def test_review_update_and_delete_keep_ratings_right():
    product = ProductFactory()
    review = ReviewFactory(product=product, rating=5)
    ReviewFactory(product=product, rating=3)
    services.review_update(review=review, rating=1)
    product.refresh_from_db()
    assert product.rating_avg == Decimal("2.00")
    services.review_delete(review=review)
    product.refresh_from_db()
    assert (product.review_count, product.rating_avg) == (1, Decimal("3.00"))
    with pytest.raises(TypeError):
        services.review_update(review=Review.objects.get(), product=product)


def test_product_ratings_recompute_for_all_products_in_one_update(django_assert_num_queries):
    products = ProductFactory.create_batch(3)
    for product in products:
        Review.objects.create(product=product, author=UserFactory(), rating=4, title="raw")
    with django_assert_num_queries(3):  # savepoint, UPDATE, release
        assert services.product_ratings_recompute() == 3
    assert {p.rating_avg for p in Product.objects.all()} == {Decimal("4.00")}


def test_ratings_are_rounded_to_two_decimals():
    product = ProductFactory()
    for rating in (5, 4, 4):
        ReviewFactory(product=product, rating=rating)
    product.refresh_from_db()
    assert product.rating_avg == Decimal("4.33")


# --- cache invalidation happens on commit --------------------------------------------------


def test_writes_bump_generations_only_once_committed(django_capture_on_commit_callbacks):
    product = ProductFactory()
    cache.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.product_update(product=product, stock=1)
    # before the commit nothing changed
    assert (catalog_generation(), product_generation(product.pk)) == (0, 0)
    for callback in callbacks:
        callback()
    # after it both the catalog and the product's generation moved
    assert catalog_generation() > 0
    assert product_generation(product.pk) > 0
