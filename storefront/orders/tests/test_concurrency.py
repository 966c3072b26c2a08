"""Real PostgreSQL concurrency: no overselling, no deadlock, one order per key.

Each test starts threads that each use their own database connection (closed
when the thread ends), against committed data (transactional tests).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from storefront.catalog.models import Product
from storefront.orders import services
from storefront.orders.models import IdempotencyKey, Order, OrderStatus
from storefront.orders.tests.factories import ADDRESS, UserFactory, make_order, product
from storefront.orders.tests.helpers import assert_problem, closing_connection

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ORDERS = "/api/v1/orders/"


def body(*items):
    return {
        "items": [{"product": str(p.id), "quantity": q} for p, q in items],
        "shipping_address": ADDRESS,
        "payment_token": "tok_success",
    }


def run_concurrently(calls: list[Callable[[], object]]) -> list[object]:
    """Start every call at the same moment, each in its own thread; their results."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        with closing_connection():
            try:
                barrier.wait(timeout=10)
                results[index] = call()
            except BaseException as exc:  # surfaced in the main thread
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads), "a request hung (deadlock?)"
    return results


def post_as(user, payload, **headers) -> Callable[[], object]:
    def call():
        client = APIClient()
        client.force_authenticate(user)
        return client.post(ORDERS, payload, format="json", **headers)

    return call


def test_concurrent_buyers_of_the_last_units_never_oversell():
    # given 3 units left and 12 customers who want one each
    p = product(stock=3)
    buyers = [UserFactory() for _ in range(12)]

    # when they all order at the same moment
    responses = run_concurrently([post_as(user, body((p, 1))) for user in buyers])

    # then exactly 3 orders succeed, the others are out of stock; stock is 0, never below
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 3, 409: 9}
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "out_of_stock")
    assert Product.objects.get(pk=p.pk).stock == 0
    assert Order.objects.count() == 3


def test_buyers_ordering_two_products_in_opposite_order_do_not_deadlock():
    # given two products with 10 units each, and 16 buyers of both, half listing
    # them A then B, half B then A (the classic lock-order deadlock)
    a, b = product(stock=10), product(stock=10)
    calls = [
        post_as(UserFactory(), body((a, 1), (b, 1)) if i % 2 else body((b, 1), (a, 1)))
        for i in range(16)
    ]

    # when they all order at once
    responses = run_concurrently(calls)

    # then nobody deadlocks: 10 orders, 6 out of stock, both products at 0
    assert Counter(r.status_code for r in responses) == {201: 10, 409: 6}
    assert Product.objects.get(pk=a.pk).stock == 0
    assert Product.objects.get(pk=b.pk).stock == 0


def test_concurrent_requests_with_one_key_create_one_order():
    # given a customer whose client sends the same request 8 times at once
    p = product(stock=20)
    user = UserFactory()
    payload = body((p, 2))

    # when the requests race
    responses = run_concurrently(
        [post_as(user, payload, HTTP_IDEMPOTENCY_KEY="same-key") for _ in range(8)]
    )

    # then one order exists; every response is its 201, all but one replayed
    assert Order.objects.count() == 1
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 7
    assert Product.objects.get(pk=p.pk).stock == 18


def test_a_request_waiting_too_long_on_its_key_gets_409_in_progress(settings):
    # given a request with key "k" still running (its key row is not committed)
    settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = 1
    user = UserFactory()
    p = product()
    started, release = threading.Event(), threading.Event()

    def first_request() -> None:
        with closing_connection(), transaction.atomic():
            IdempotencyKey.objects.create(
                user=user,
                scope="orders.create",
                key="k",
                fingerprint="0" * 64,
                expires_at=timezone.now() + timedelta(hours=1),
            )
            started.set()
            release.wait(timeout=10)
            transaction.set_rollback(True)  # ...and it fails in the end

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert started.wait(timeout=10)

        # when the same key comes meanwhile
        response = post_as(user, body((p, 1)), HTTP_IDEMPOTENCY_KEY="k")()

        # then it is told to come back, with Retry-After
        assert_problem(response, 409, "idempotency_request_in_progress")
        assert response["Retry-After"] == "1"
    finally:
        release.set()
        thread.join(timeout=10)

    # and once the first request is gone, the key works
    assert post_as(user, body((p, 1)), HTTP_IDEMPOTENCY_KEY="k")().status_code == 201


def test_expiry_skips_an_order_whose_payment_is_being_recorded():
    # given an old pending order whose row a payment is holding locked
    order = make_order()
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(hours=1))
    locked, release = threading.Event(), threading.Event()

    def payment() -> None:
        with closing_connection(), transaction.atomic():
            Order.objects.select_for_update().get(pk=order.pk)
            locked.set()
            release.wait(timeout=10)
            services.order_transition(order_id=order.pk, to=OrderStatus.PAID)

    thread = threading.Thread(target=payment)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        # when the expiry sweep runs meanwhile, then it does not wait, and leaves it
        assert services.orders_expire_unpaid() == 0
    finally:
        release.set()
        thread.join(timeout=10)

    # and the next sweep sees it paid, and leaves it too
    assert services.orders_expire_unpaid() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
