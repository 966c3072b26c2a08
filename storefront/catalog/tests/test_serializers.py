"""The product representation is written out by hand for speed
(`ProductSerializer.to_representation`); its declared fields stay the contract.
These tests hold the two to the same output, key order included, in both API
versions, for products that exercise every field's edge."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.versioning import URLPathVersioning

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
