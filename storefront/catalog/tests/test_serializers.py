"""The product representation is written out by hand for speed
(`ProductSerializer.to_representation`); its declared fields stay the contract.
These tests hold the two to the same output, key order included, in both API
versions, for products that exercise every field's edge. The detail reads a
product as plain values in one SQL statement (`Product.objects.row_visible_to`,
no model instance): that path is held to the same output too."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.versioning import URLPathVersioning

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.api.serializers import ProductSerializer, ProductV2Serializer
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("any_host")]


@pytest.fixture
def any_host(settings):
    settings.ALLOWED_HOSTS = ["testserver", "shop.example.com", "a.example"]


def _request(version: str, host: str = "testserver") -> Request:
    request = Request(APIRequestFactory().get(f"/api/{version}/products/", HTTP_HOST=host))
    request.version = version
    request.versioning_scheme = URLPathVersioning()
    return request


@pytest.fixture
def products() -> list[Product]:
    root = CategoryFactory(slug="home")
    leaf = CategoryFactory(slug="kitchen-knives", parent=root)
    plain = ProductFactory(category=leaf, price=Decimal("5"), stock=0)  # no reviews, no images
    rich = ProductFactory(
        category=root,
        slug="café-crème",  # a Unicode slug (allowed for products)
        name="Tasse à café «crème» \u2014 20 cl",
        description="",
        price=Decimal("1234567.5"),
        currency="EUR",
        stock=3,
        is_featured=True,
        attributes={"colour": "red", "sizes": [1, 2], "nested": {"ok": None}},
    )
    Product.objects.filter(pk=rich.pk).update(rating_avg=Decimal("4.5"), review_count=2)
    ProductImageFactory(product=rich, position=2)
    ProductImageFactory(product=rich, position=1, alt_text="")
    ProductImageFactory(product=rich, url="", file="products/2026/11/a b é.jpg", position=3)
    hidden = ProductFactory(category=leaf, is_active=False, price=Decimal("0.01"))
    return list(Product.objects.for_listing().filter(pk__in=[plain.pk, rich.pk, hidden.pk]))


def _generic(serializer: serializers.Serializer, product: Product) -> dict:
    """What DRF's generic loop makes of the declared fields."""
    return serializers.Serializer.to_representation(serializer, product)


@pytest.mark.parametrize(
    ("version", "serializer_class"), [("v1", ProductSerializer), ("v2", ProductV2Serializer)]
)
def test_the_written_out_representation_is_the_declared_fields_output(
    products, version, serializer_class
):
    context = {"request": _request(version)}
    many = serializer_class(products, many=True, context=context)

    written_out = many.data

    assert len(written_out) == 3
    for product, data in zip(products, written_out, strict=True):
        expected = _generic(serializer_class(context=context), product)
        assert list(data.items()) == list(expected.items())
        assert list(data) == serializer_class.Meta.fields


def test_a_single_product_is_written_out_the_same_way(products):
    context = {"request": _request("v2", host="shop.example.com")}
    for product in products:
        serializer = ProductV2Serializer(product, context=context)
        assert serializer.data == _generic(ProductV2Serializer(context=context), product)
        assert serializer.data["url"] == f"http://shop.example.com/api/v2/products/{product.pk}/"


def test_urls_carry_the_requests_version_and_host(products):
    product = next(p for p in products if p.images.all())
    data = ProductSerializer(product, context={"request": _request("v1", "a.example")}).data

    assert data["url"] == f"http://a.example/api/v1/products/{product.pk}/"
    assert data["reviews_url"] == f"http://a.example/api/v1/products/{product.pk}/reviews/"
    assert data["category_url"] == "http://a.example/api/v1/categories/home/"
    assert data["images"][-1]["url"].startswith("http://a.example/")
    assert data["images"][-1]["url"].endswith("/products/2026/11/a%20b%20%C3%A9.jpg")


def test_without_a_request_the_generic_path_runs(products):
    with pytest.raises(AssertionError, match="requires the request in the serializer context"):
        ProductSerializer(products[0]).data  # noqa: B018 - hyperlinks need the request


# --- the detail's read: plain values, one statement ----------------------------------

VERSIONS = [("v1", ProductSerializer), ("v2", ProductV2Serializer)]


@pytest.mark.parametrize(("version", "serializer_class"), VERSIONS)
def test_a_product_read_as_values_is_represented_as_its_instance(
    products, version, serializer_class
):
    staff = StaffFactory()  # sees the inactive product too
    context = {"request": _request(version)}
    for product in products:
        row = Product.objects.row_visible_to(staff, product.pk, category_path=version == "v2")

        data = serializer_class(context=context).represent_row(row)

        expected = _generic(serializer_class(context=context), product)
        assert list(data.items()) == list(expected.items())
        assert data == serializer_class(product, context=context).data


@pytest.mark.parametrize("category_path", [False, True])
def test_the_statement_reads_the_same_values_as_the_orm(products, category_path):
    # given a product four levels deep, besides the fixture's
    parent = None
    for slug in ("a", "a-b", "a-b-c", "a-b-c-d"):
        parent = CategoryFactory(slug=slug, parent=parent)
    deep = ProductFactory(category=parent, attributes={"z": 1, "a": [True, None, 2.5]})
    ProductImageFactory(product=deep, position=0)
    ProductImageFactory(product=deep, position=0)  # same position: then by created_at
    staff = StaffFactory()
    for product in [*products, Product.objects.for_listing().get(pk=deep.pk)]:
        # when it is read by the hand-written statement
        row = Product.objects.row_visible_to(staff, product.pk, category_path=category_path)
        # then it is the dict the ORM's instance gives, value for value, in the same order
        expected = product.as_row(category_path=category_path)
        assert list(row.items()) == list(expected.items())
    # (the last one is the deep product: its path, from the root, when asked for)
    assert ("category_path" in row) is category_path
    if category_path:
        assert [ref["slug"] for ref in row["category_path"]] == ["a", "a-b", "a-b-c", "a-b-c-d"]


@pytest.mark.parametrize("category_path", [False, True])
def test_without_postgresql_the_values_come_from_the_orm(products, monkeypatch, category_path):
    staff = StaffFactory()
    sql_rows = [
        Product.objects.row_visible_to(staff, p.pk, category_path=category_path) for p in products
    ]

    monkeypatch.setattr(connection, "vendor", "sqlite")  # the embedded mode's branch
    orm_rows = [
        Product.objects.row_visible_to(staff, p.pk, category_path=category_path) for p in products
    ]

    assert orm_rows == sql_rows


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_the_values_read_follows_visibility(products, monkeypatch, vendor):
    monkeypatch.setattr(connection, "vendor", vendor)
    hidden = next(p for p in products if not p.is_active)
    active = [p for p in products if p.is_active]
    deleted = ProductFactory()
    deleted.delete()
    staff, customer, anonymous = StaffFactory(), UserFactory(), AnonymousUser()

    def visible(user, product) -> bool:
        return Product.objects.row_visible_to(user, product.pk) is not None

    for user in (anonymous, customer, staff):
        assert all(visible(user, product) for product in active)
        assert visible(user, hidden) is (user is staff)
        assert not visible(user, deleted)
    assert Product.objects.row_visible_to(staff, deleted.category_id) is None  # no such product


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_detail_endpoint_answers_what_the_serializer_makes_of_the_instance(
    products, version, staff_client
):
    serializer_class = dict(VERSIONS)[version]
    for product in products:
        path = f"/api/{version}/products/{product.pk}/"
        request = Request(APIRequestFactory().get(path))
        request.version = version
        request.versioning_scheme = URLPathVersioning()

        body = staff_client.get(path).json()

        expected = _generic(serializer_class(context={"request": request}), product)
        assert list(body.items()) == list(expected.items())
