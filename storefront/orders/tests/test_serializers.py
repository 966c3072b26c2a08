"""The order representation is written out by hand for speed
(`OrderSerializer.to_representation`); its declared fields stay the contract.
These tests hold the two to the same output, key order included, for orders
in every status, seen by their owner and by staff, in both API versions."""

from __future__ import annotations

import pytest
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.versioning import URLPathVersioning

from storefront.catalog.models import Product
from storefront.orders.api.serializers import OrderSerializer
from storefront.orders.models import Order, OrderStatus
from storefront.orders.tests.factories import StaffFactory, UserFactory, make_order, product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("any_host")]

S = OrderStatus


@pytest.fixture
def any_host(settings):
    settings.ALLOWED_HOSTS = ["testserver", "shop.example.com"]


def _request(version: str, user, host: str = "testserver") -> Request:
    django_request = APIRequestFactory().get(f"/api/{version}/orders/", HTTP_HOST=host)
    force_authenticate(django_request, user=user)
    request = Request(django_request)
    request.user = user
    request.version = version
    request.versioning_scheme = URLPathVersioning()
    return request


@pytest.fixture
def orders() -> list[Order]:
    owner = UserFactory()
    orders = [
        make_order(user=owner, status=status, items=[(product(price="19.99"), 3)])
        for status in (S.PENDING, S.PAID, S.FAILED, S.CANCELLED, S.FULFILLED)
    ]
    # Two lines, one of whose products is gone since (the line keeps its snapshot)
    gone = product(price="1234567.50", sku="GONE-1", name="Tasse à café «crème»")
    two_lines = make_order(user=owner, items=[(product(price="0.01", stock=100), 100), (gone, 1)])
    Product.all_objects.filter(pk=gone.pk).hard_delete()
    orders.append(two_lines)
    return list(Order.objects.with_lines().filter(pk__in=[o.pk for o in orders]))


def _generic(serializer: serializers.Serializer, order: Order) -> dict:
    """What DRF's generic loop makes of the declared fields."""
    return serializers.Serializer.to_representation(serializer, order)


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("viewer", ["owner", "staff"])
def test_the_written_out_representation_is_the_declared_fields_output(orders, version, viewer):
    # given the orders' owner or a staff member (who also sees fulfil links)
    user = orders[0].user if viewer == "owner" else StaffFactory()
    context = {"request": _request(version, user)}

    # when a page of them is serialised
    written_out = OrderSerializer(orders, many=True, context=context).data

    # then each is exactly what the declared fields give, key order included
    assert any(line["product"] is None for data in written_out for line in data["lines"])
    for order, data in zip(orders, written_out, strict=True):
        expected = _generic(OrderSerializer(context=context), order)
        assert list(data.items()) == list(expected.items())
        assert list(data) == OrderSerializer.Meta.fields


def test_a_single_order_is_written_out_the_same_way_with_its_host_and_version(orders):
    staff = StaffFactory()
    context = {"request": _request("v2", staff, host="shop.example.com")}
    paid = next(order for order in orders if order.status == S.PAID)

    data = OrderSerializer(paid, context=context).data

    assert data == _generic(OrderSerializer(context=context), paid)
    base = f"http://shop.example.com/api/v2/orders/{paid.pk}/"
    assert data["url"] == data["links"]["self"] == base
    assert data["links"] == {"self": base, "cancel": f"{base}cancel/", "fulfil": f"{base}fulfil/"}


def test_without_a_request_the_generic_path_runs(orders):
    with pytest.raises(AssertionError, match="requires the request in the serializer context"):
        OrderSerializer(orders[0]).data  # noqa: B018 - hyperlinks need the request
