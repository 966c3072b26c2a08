"""Order model rules: the status machine table, country codes, cached lines."""

from __future__ import annotations

import pytest

from storefront.orders.countries import COUNTRY_CODES, is_country_code
from storefront.orders.models import Order, OrderStatus
from storefront.orders.tests.factories import make_order, product

S = OrderStatus


def test_status_machine_allows_exactly_the_documented_moves():
    allowed = {(a, b) for a, targets in Order.TRANSITIONS.items() for b in targets}
    assert allowed == {
        (S.PENDING, S.PAID),
        (S.PENDING, S.FAILED),
        (S.PENDING, S.CANCELLED),
        (S.PAID, S.FULFILLED),
        (S.PAID, S.CANCELLED),
    }
    assert set(Order.TRANSITIONS) == set(S)
    assert set(Order.TIMESTAMP_FIELDS) == set(S) - {S.PENDING}


@pytest.mark.parametrize(
    ("status", "cancellable", "fulfillable"),
    [
        (S.PENDING, True, False),
        (S.PAID, True, True),
        (S.FAILED, False, False),
        (S.CANCELLED, False, False),
        (S.FULFILLED, False, False),
    ],
)
def test_order_says_what_it_allows(status, cancellable, fulfillable):
    order = Order(status=status)
    assert (order.is_cancellable, order.is_fulfillable) == (cancellable, fulfillable)


def test_all_249_assigned_country_codes_are_known():
    assert len(COUNTRY_CODES) == 249
    assert all(len(code) == 2 and code.isupper() for code in COUNTRY_CODES)
    assert is_country_code("DE")
    assert is_country_code("AQ")
    assert not is_country_code("XK")  # user-assigned, not ISO
    assert not is_country_code("UK")  # reserved; the code is GB
    assert not is_country_code("de")


def test_str_of_order_objects():
    order = Order(status=S.PAID)
    assert str(order).endswith("(paid)")


@pytest.mark.django_db
def test_cached_lines_are_served_in_position_order_without_a_query(
    django_assert_num_queries,
):
    # given an order read without its lines, and its lines in another order
    placed = make_order(items=[(product(), 1), (product(), 2)])
    order = Order.objects.get(pk=placed.pk)
    lines = list(placed.lines.order_by("-position"))

    # when they are cached on it
    order.cache_lines(lines)

    # then reading them takes no query and gives them by position, as with_lines() does
    with django_assert_num_queries(0):
        cached = list(order.lines.all())
    assert cached == list(Order.objects.with_lines().get(pk=placed.pk).lines.all())
    assert [line.position for line in cached] == [0, 1]
