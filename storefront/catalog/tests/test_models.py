"""Catalog models: database constraints, tree validation, QuerySet reads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.models import Category, Product, ProductImage, Review
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db


def violates(callable_) -> bool:
    """True when the database refuses the write (IntegrityError)."""
    try:
        with transaction.atomic():
            callable_()
    except IntegrityError:
        return True
    return False


# --- database constraints ----------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"price": Decimal("0")},
        {"price": Decimal("-1")},
        {"stock": -1},
        {"rating_avg": Decimal("6")},
    ],
)
def test_product_check_constraints(values):
    product = ProductFactory()
    assert violates(lambda: Product.all_objects.filter(pk=product.pk).update(**values))


def test_product_sku_and_slug_are_unique_in_the_database():
    product = ProductFactory(sku="A", slug="a")
    product.delete()  # soft-deleted rows keep their values
    assert violates(lambda: ProductFactory(sku="A"))
    assert violates(lambda: ProductFactory(slug="a"))


def test_edge_prices_fit_the_column():
    assert ProductFactory(price=Decimal("0.01")).price == Decimal("0.01")
    product = ProductFactory(price=Decimal("99999999.99"))
    product.refresh_from_db()
    assert product.price == Decimal("99999999.99")


def test_review_rating_is_1_to_5_in_the_database():
    review = ReviewFactory()
    assert violates(lambda: Review.objects.filter(pk=review.pk).update(rating=0))
    assert violates(lambda: Review.objects.filter(pk=review.pk).update(rating=6))


def test_one_review_per_author_and_product_in_the_database():
    review = ReviewFactory()
    assert violates(
        lambda: Review.objects.create(
            product=review.product, author=review.author, rating=3, title="again"
        )
    )


def test_image_has_a_url_xor_a_file_in_the_database():
    product = ProductFactory()
    assert violates(lambda: ProductImage.objects.create(product=product))
    assert violates(
        lambda: ProductImage.objects.create(
            product=product, url="https://x.test/a.png", file="a.png"
        )
    )


def test_category_cannot_be_its_own_parent_in_the_database():
    category = CategoryFactory()
    assert violates(lambda: Category.objects.filter(pk=category.pk).update(parent=category))


def test_category_slug_is_unique_in_the_database():
    CategoryFactory(slug="dup")
    assert violates(lambda: Category.objects.create(slug="dup", name="x", path="p/"))


def test_category_with_products_cannot_be_deleted_in_the_database():
    product = ProductFactory()
    with pytest.raises(Exception, match="protected"):
        product.category.delete()


# --- Category.clean -------------------------------------------------------------------


def test_clean_rejects_own_parent():
    category = CategoryFactory()
    category.parent = category
    with pytest.raises(ValidationError):
        category.clean()


def test_clean_rejects_a_move_under_a_descendant():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    root.parent = child
    with pytest.raises(ValidationError, match="descendant"):
        root.clean()


def test_clean_rejects_a_tree_deeper_than_the_maximum():
    chain = [CategoryFactory()]
    for _ in range(4):
        chain.append(CategoryFactory(parent=chain[-1]))
    new = Category(slug="x", name="x", parent=chain[-1])
    with pytest.raises(ValidationError, match="levels deep"):
        new.clean()


def test_clean_accepts_a_root():
    Category(slug="x", name="x").clean()


# --- QuerySets --------------------------------------------------------------------------


def test_subtree_of_is_the_category_and_its_descendants():
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    CategoryFactory()
    assert set(Category.objects.subtree_of(child)) == {child, grandchild}
    assert set(Category.objects.subtree_of(root)) == {root, child, grandchild}


def test_nodes_on_paths_loads_all_ancestors_in_one_query(django_assert_num_queries):
    root = CategoryFactory()
    leaf = CategoryFactory(parent=CategoryFactory(parent=root))
    other = CategoryFactory()
    with django_assert_num_queries(1):
        nodes = Category.objects.nodes_on_paths([leaf, other])
    assert len(nodes) == 4
    assert root.pk in nodes
    assert Category.objects.nodes_on_paths([]) == {}


def test_visible_to_hides_inactive_products_from_non_staff():
    active = ProductFactory()
    inactive = ProductFactory(is_active=False)
    assert list(Product.objects.visible_to(None)) == [active]
    assert list(Product.objects.visible_to(UserFactory())) == [active]
    assert set(Product.objects.visible_to(StaffFactory())) == {active, inactive}


def test_in_category_tree_is_one_statement(django_assert_num_queries):
    root = CategoryFactory(slug="root")
    product = ProductFactory(category=CategoryFactory(parent=root))
    with django_assert_num_queries(1):
        assert list(Product.objects.in_category_tree("root")) == [product]


def test_soft_delete_and_restore():
    product = ProductFactory()
    product.delete()
    assert product.is_deleted
    assert not Product.objects.filter(pk=product.pk).exists()
    product.restore()
    assert Product.objects.filter(pk=product.pk).exists()


def test_string_representations():
    category = CategoryFactory(name="Tools")
    product = ProductFactory(name="Hammer", sku="H-1", category=category)
    image = ProductImageFactory(product=product, alt_text="")
    review = ReviewFactory(product=product, rating=5)
    assert str(category) == "Tools"
    assert str(product) == "Hammer (H-1)"
    assert str(image) == image.url
    assert str(review).startswith("5/5 on ")
