"""End to end with a real Celery worker on the real Redis broker.

The order is placed through the API and committed; process_order goes through
the broker to an in-thread worker, which charges the fake gateway and records
the outcome. Retries wait 0 seconds here (ORDER_PAYMENT_RETRY_BACKOFF_MAX=0,
set by conftest), so the suite stays fast.
"""

from __future__ import annotations

import threading

import pytest
from celery.signals import task_prerun
from django.core import mail
from rest_framework.test import APIClient

from storefront.catalog.models import Product
from storefront.orders.models import FakeCharge, Order, OrderStatus
from storefront.orders.tests.factories import ADDRESS, UserFactory, product
from storefront.orders.tests.helpers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SETTLED = {OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.CANCELLED}


def place(p: Product, token: str, quantity: int = 1) -> tuple[Order, object]:
    client = APIClient()
    user = UserFactory()
    client.force_authenticate(user)
    response = client.post(
        "/api/v1/orders/",
        {
            "items": [{"product": str(p.id), "quantity": quantity}],
            "shipping_address": ADDRESS,
            "payment_token": token,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    return Order.objects.get(pk=response.json()["id"]), user


def settled(order: Order) -> Order:
    wait_until(lambda: Order.objects.get(pk=order.pk).status in SETTLED)
    return Order.objects.get(pk=order.pk)


def test_worker_pays_a_pending_order_and_emails_the_confirmation(celery_worker):
    # given a product, and a record of how tasks run
    p = product(stock=5)
    runs: list[tuple[str, bool, int]] = []

    def record(task, **kwargs) -> None:
        runs.append((task.name, task.request.is_eager, threading.get_ident()))

    task_prerun.connect(record, weak=False)

    # when an order is placed through the API
    try:
        order, user = place(p, "tok_success", quantity=2)
        order = settled(order)
        wait_until(lambda: len(runs) == 2)
    finally:
        task_prerun.disconnect(record)

    # then both tasks went through the broker to the worker's own thread
    assert [(name, eager) for name, eager, _ in runs] == [
        ("orders.process_order", False),
        ("orders.send_order_confirmation", False),
    ]
    assert threading.get_ident() not in {thread for _, _, thread in runs}
    # and the worker charged the order once and the customer is e-mailed
    assert order.status == OrderStatus.PAID
    charge = FakeCharge.objects.get()
    assert (charge.idempotency_key, charge.attempts) == (str(order.id), 1)
    wait_until(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].to == [user.email]
    event = order.events.last()
    assert (event.from_status, event.to_status, event.actor) == ("pending", "paid", None)
    assert event.task_id  # the worker's task id is in the audit trail
    assert Product.objects.get(pk=p.pk).stock == 3


def test_worker_fails_a_declined_order_and_restores_stock(celery_worker):
    p = product(stock=5)

    order, _ = place(p, "tok_decline", quantity=2)

    order = settled(order)
    assert order.status == OrderStatus.FAILED
    assert Product.objects.get(pk=p.pk).stock == 5
    assert mail.outbox == []


def test_worker_retries_transient_errors_then_pays_exactly_once(celery_worker):
    # given a gateway that fails twice before it answers
    p = product(stock=5)

    # when an order is placed
    order, _ = place(p, "tok_transient")

    # then the task is retried until the charge goes through, once
    order = settled(order)
    assert order.status == OrderStatus.PAID
    charge = FakeCharge.objects.get()
    assert charge.attempts == 3
    assert charge.outcome == FakeCharge.Outcome.SUCCEEDED
    assert order.charge_id == f"ch_{charge.id.hex}"
