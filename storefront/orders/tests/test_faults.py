"""Faults around order processing (docs/reliability.md).

* The broker is down when an order is placed: the customer still gets a 201,
  the order stays pending and undispatched, and the dispatch sweep sends its
  payment once the broker is back; it is charged once.
* A worker is SIGKILLed in the middle of process_order: the message comes back
  (acks_late + reject_on_worker_lost, the Redis visibility timeout), another
  worker runs it, and the order ends paid once, charged once.

The slow tests run the real server and workers as subprocesses on a private
redis-server that only they start and stop (by PID).
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from rest_framework_simplejwt.tokens import AccessToken

from storefront.catalog.models import Product
from storefront.core.testing import PrivateRedis, free_port, private_redis
from storefront.core.tests.faults import children_of, full_env, poll, server, worker
from storefront.orders import services, tasks
from storefront.orders.models import FakeCharge, Order, OrderEvent, OrderStatus
from storefront.orders.tests.factories import ADDRESS, UserFactory, product


def order_payload(p: Product, token: str) -> dict:
    return {
        "items": [{"product": str(p.id), "quantity": 1}],
        "shipping_address": ADDRESS,
        "payment_token": token,
    }


def refused(*args, **kwargs):
    raise KombuOperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


# --- In-process: the dispatch and its sweep ---------------------------------


@pytest.mark.django_db(transaction=True)
def test_order_placed_while_the_broker_refuses_is_201_and_left_undispatched(
    client_for, customer, monkeypatch
):
    # Given a broker that refuses every publish
    p = product(stock=3)
    monkeypatch.setattr(tasks.process_order, "delay", refused)

    # When the customer places an order
    response = client_for(customer).post(
        "/api/v1/orders/", order_payload(p, "tok_success"), format="json"
    )

    # Then it is accepted, stock is reserved, and the order waits for the sweep
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    assert (order.status, order.dispatched_at) == (OrderStatus.PENDING, None)
    assert Product.objects.get(pk=p.pk).stock == 2


@pytest.mark.django_db(transaction=True)
def test_dispatched_order_is_marked(client_for, customer):
    p = product(stock=3)

    response = client_for(customer).post(
        "/api/v1/orders/", order_payload(p, "tok_success"), format="json"
    )

    order = Order.objects.get(pk=response.json()["id"])
    assert order.status == OrderStatus.PAID  # eager here: it ran at once
    assert order.dispatched_at is not None


@pytest.mark.django_db(transaction=True)
def test_sweep_sends_only_old_undispatched_pending_orders(client_for, customer, monkeypatch):
    # Given three pending orders placed while the broker was down
    p = product(stock=10)
    with monkeypatch.context() as patch:
        patch.setattr(tasks.process_order, "delay", refused)
        ids = [
            client_for(customer)
            .post("/api/v1/orders/", order_payload(p, "tok_success"), format="json")
            .json()["id"]
            for _ in range(3)
        ]
    old, young, dispatched = ids
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Order.objects.filter(pk__in=[old, dispatched]).update(created_at=an_hour_ago)
    Order.objects.filter(pk=dispatched).update(dispatched_at=an_hour_ago)

    # When the sweep runs with the broker back
    sent = services.orders_dispatch_undispatched()

    # Then only the old undispatched one is sent (and, eagerly, paid)
    assert sent == 1
    statuses = dict(Order.objects.filter(pk__in=ids).values_list("id", "status"))
    assert {str(k): v for k, v in statuses.items()} == {
        old: OrderStatus.PAID,
        young: OrderStatus.PENDING,
        dispatched: OrderStatus.PENDING,
    }
    assert Order.objects.get(pk=old).dispatched_at is not None


@pytest.mark.django_db(transaction=True)
def test_sweep_stops_at_the_first_refusal_and_sends_nothing(client_for, customer, monkeypatch):
    p = product(stock=10)
    monkeypatch.setattr(tasks.process_order, "delay", refused)
    for _ in range(2):
        client_for(customer).post("/api/v1/orders/", order_payload(p, "tok_success"), format="json")
    Order.objects.update(created_at=timezone.now() - timedelta(hours=1))

    assert services.orders_dispatch_undispatched() == 0
    assert Order.objects.filter(dispatched_at__isnull=True).count() == 2


# --- Real processes ----------------------------------------------------------


def place_over_http(base: str, user, p: Product, token: str) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/orders/",
        json=order_payload(p, token),
        headers={"Authorization": f"Bearer {AccessToken.for_user(user)}"},
        timeout=30,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_order_placed_while_the_broker_is_down_is_paid_once_when_it_is_back():
    # Given a server whose broker (a private Redis, not started yet) is down
    p = product(stock=5)
    user = UserFactory()
    broker_port = free_port()
    env = full_env(
        BROKER_URL=f"redis://127.0.0.1:{broker_port}/0",
        ORDER_DISPATCH_SWEEP_SECONDS="1",
        ORDER_DISPATCH_GRACE_SECONDS="1",
    )
    with server(env) as (base, web):
        # When an order is placed
        response = place_over_http(base, user, p, "tok_success")

        # Then it is created, with its stock, and waits undispatched
        assert response.status_code == 201, (response.text, web.output())
        order = Order.objects.get(pk=response.json()["id"])
        assert (order.status, order.dispatched_at) == (OrderStatus.PENDING, None)
        assert Product.objects.get(pk=p.pk).stock == 4

    # When the broker comes back, with a worker and its beat
    broker = PrivateRedis(broker_port)
    try:
        with worker(env, beat=True) as celery:
            # Then the sweep dispatches it and it is paid, charged once
            try:
                poll(lambda: Order.objects.get(pk=order.pk).status == OrderStatus.PAID, timeout=40)
            except AssertionError:  # pragma: no cover - diagnostics
                pytest.fail(f"order not paid; worker said:\n{celery.output()}")
    finally:
        broker.stop()
    order.refresh_from_db()
    assert order.dispatched_at is not None
    charge = FakeCharge.objects.get()
    assert (charge.idempotency_key, charge.outcome) == (str(order.id), "succeeded")
    assert OrderEvent.objects.filter(order=order, to_status=OrderStatus.PAID).count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_payment_is_redelivered_and_charges_once():
    # Given a worker on a private Redis broker whose unacked messages come back
    # after 2 s, and an order whose gateway call is slow (tok_slow: the charge
    # is recorded, then the answer takes FakePaymentGateway.SLOW_SECONDS)
    p = product(stock=5)
    user = UserFactory()
    with private_redis() as broker:
        env = full_env(BROKER_URL=broker.url, BROKER_VISIBILITY_TIMEOUT="2")
        with server(env) as (base, _web):
            first = worker(env, pool="prefork")
            first_worker = first.__enter__()
            try:
                response = place_over_http(base, user, p, "tok_slow")
                assert response.status_code == 201, response.text
                order_id = response.json()["id"]

                # When the worker is SIGKILLed while the gateway call is in flight
                poll(lambda: FakeCharge.objects.filter(idempotency_key=order_id).exists())
                assert Order.objects.get(pk=order_id).status == OrderStatus.PENDING
                # The whole worker at once (its own process group: the main
                # process and its pool child), as when a machine dies: nothing
                # is left to reject the message, only the visibility timeout.
                assert children_of(first_worker.pid)
                os.killpg(first_worker.pid, signal.SIGKILL)
                first_worker.kill()
            finally:
                first.__exit__(None, None, None)

            # Then a new worker gets the message again and the order is paid once
            with worker(env, pool="prefork") as second:
                try:
                    poll(
                        lambda: Order.objects.get(pk=order_id).status == OrderStatus.PAID,
                        timeout=45,
                    )
                except AssertionError:  # pragma: no cover - diagnostics
                    pytest.fail(f"order not paid; worker said:\n{second.output()}")

    charge = FakeCharge.objects.get()
    assert charge.outcome == FakeCharge.Outcome.SUCCEEDED
    assert charge.attempts == 2  # called again by the redelivered task, charged once
    order = Order.objects.get(pk=order_id)
    assert order.charge_id == f"ch_{charge.id.hex}"
    assert OrderEvent.objects.filter(order=order, to_status=OrderStatus.PAID).count() == 1
    assert Product.objects.get(pk=p.pk).stock == 4
