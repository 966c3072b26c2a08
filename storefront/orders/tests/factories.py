"""Factories for orders tests: products with known stock and price, orders.

ProductFactory comes from the catalog's factories when they exist; otherwise a
minimal one is defined here. Tests always pass the fields they rely on
(stock, price, currency), so either works.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from unittest import mock

import factory

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog.models import Category, Product, category_path_for
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

try:  # pragma: no cover - depends on the catalog's progress
    from storefront.catalog.tests.factories import ProductFactory
except ImportError:  # pragma: no cover

    class _RootCategoryFactory(factory.django.DjangoModelFactory):
        class Meta:
            model = Category

        id = factory.LazyFunction(uuid.uuid4)
        slug = factory.Sequence(lambda n: f"orders-category-{n}")
        name = factory.Sequence(lambda n: f"Category {n}")
        path = factory.LazyAttribute(lambda o: category_path_for(None, o.id))
        depth = 0

    class ProductFactory(factory.django.DjangoModelFactory):
        class Meta:
            model = Product

        sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
        slug = factory.Sequence(lambda n: f"orders-product-{n}")
        name = factory.Sequence(lambda n: f"Product {n}")
        category = factory.SubFactory(_RootCategoryFactory)
        price = Decimal("10.00")
        currency = "EUR"
        stock = 10
        is_active = True


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
