"""Factories for orders tests: products with known stock and price, orders.

Products come from the catalog's factories; tests always pass the fields they
rely on (stock, price, currency).
"""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.models import Product
from storefront.catalog.tests.factories import ProductFactory
from storefront.orders import services, tasks
from storefront.orders.models import Order, OrderStatus

__all__ = ["ADDRESS", "ProductFactory", "StaffFactory", "UserFactory", "make_order", "product"]

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "Unter den Linden 1",
    "line2": "",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}


def product(*, stock: int = 10, price: str = "10.00", currency: str = "EUR", **kwargs) -> Product:
    """A product with exactly the stock, price and currency a test relies on."""
    return ProductFactory(stock=stock, price=Decimal(price), currency=currency, **kwargs)


def make_order(
    *,
    user=None,
    items: list[tuple[Product, int]] | None = None,
    token: str = "tok_success",  # noqa: S107 - a fake gateway token
    status: str = OrderStatus.PENDING,
) -> Order:
    """An order placed through the service (stock reserved), optionally moved on.

    `status=paid` goes through the payment service with the fake gateway, so
    the order has a real charge; `failed`/`cancelled`/`fulfilled` follow the
    status machine from there.
    """
    user = user or UserFactory()
    items = items or [(product(), 1)]
    # The payment task is not scheduled: the status asked for is reached below,
    # whether or not the test's transaction commits.
    with mock.patch.object(tasks.process_order, "delay"):
        order = services.order_create(
            user=user,
            items=[services.OrderItem(product_id=p.id, quantity=q) for p, q in items],
            shipping_address=ADDRESS,
            payment_token=token,
        )
    if status in {OrderStatus.PAID, OrderStatus.FULFILLED}:
        services.order_pay(order_id=order.id)
    if status == OrderStatus.FULFILLED:
        services.order_fulfil(order_id=order.id, by=None)
    if status == OrderStatus.FAILED:
        services.order_fail_payment(order_id=order.id, note="test")
    if status == OrderStatus.CANCELLED:
        services.order_cancel(order_id=order.id, by=user)
    order.refresh_from_db()
    assert order.status == status, order.status
    return order
