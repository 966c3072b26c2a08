"""Idempotency-Key on order placement and cancellation (sequential cases).

Concurrent requests with one key are in test_concurrency.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from storefront.orders.idempotency import idempotency_keys_purge
from storefront.orders.models import IdempotencyKey, Order, OrderStatus
from storefront.orders.tests.factories import ADDRESS, make_order, product
from storefront.orders.tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def body(p, quantity=1):
    return {
        "items": [{"product": str(p.id), "quantity": quantity}],
        "shipping_address": ADDRESS,
        "payment_token": "tok_success",
    }


def test_same_key_same_body_replays_the_first_response_and_creates_nothing(client_for, customer):
    # given an order placed with a key
    p = product(stock=5)
    client = client_for(customer)
    first = client.post(ORDERS, body(p, 2), format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first

    # when the same request is sent again (a client retry)
    again = client.post(ORDERS, body(p, 2), format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    # then the first response is replayed byte for byte, and nothing is done twice
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again["Location"] == first["Location"]
    assert Order.objects.count() == 1
    assert p.__class__.objects.get(pk=p.pk).stock == 3


def test_body_key_order_does_not_matter(client_for, customer):
    p = product()
    client = client_for(customer)
    payload = body(p)
    reordered = dict(reversed(list(payload.items())))
    client.post(ORDERS, payload, format="json", HTTP_IDEMPOTENCY_KEY="k")
    again = client.post(ORDERS, reordered, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_same_key_another_body_is_422(client_for, customer):
    # given an order placed with a key
    p = product()
    client = client_for(customer)
    client.post(ORDERS, body(p, 1), format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    # when the key comes back with another body
    response = client.post(ORDERS, body(p, 2), format="json", HTTP_IDEMPOTENCY_KEY="key-1")

    # then it is refused in our error format, and nothing is created
    assert_problem(response, 422, "idempotency_key_reused")
    assert Order.objects.count() == 1


def test_keys_are_per_user(client_for, customer, other_customer):
    # given two customers using the same key
    p = product()
    first = client_for(customer).post(ORDERS, body(p), format="json", HTTP_IDEMPOTENCY_KEY="k")
    second = client_for(other_customer).post(
        ORDERS, body(p), format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    # then each gets their own order
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second
    assert Order.objects.count() == 2


def test_keys_are_per_endpoint(client_for, customer):
    # given an order placed with a key
    p = product()
    client = client_for(customer)
    order_id = client.post(ORDERS, body(p), format="json", HTTP_IDEMPOTENCY_KEY="k").json()["id"]

    # when the same key cancels it, then that is a new request, not a conflict
    response = client.post(f"{ORDERS}{order_id}/cancel/", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_an_expired_key_is_a_new_key(client_for, customer):
    # given a key used more than its lifetime ago
    p = product(stock=5)
    client = client_for(customer)
    client.post(ORDERS, body(p), format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    # when it is used again, even with another body
    response = client.post(ORDERS, body(p, 2), format="json", HTTP_IDEMPOTENCY_KEY="k")

    # then the request is executed afresh, and the key now remembers it
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Order.objects.count() == 2
    replay = client.post(ORDERS, body(p, 2), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == response.content


def test_key_lifetime_comes_from_settings(client_for, customer, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 2
    client_for(customer).post(ORDERS, body(product()), format="json", HTTP_IDEMPOTENCY_KEY="k")
    key = IdempotencyKey.objects.get()
    assert timedelta(hours=1, minutes=59) < key.expires_at - key.created_at <= timedelta(hours=2)


def test_errors_are_not_stored_so_the_key_can_be_retried(client_for, customer):
    # given a request with a key that fails (out of stock)
    p = product(stock=1)
    client = client_for(customer)
    failed = client.post(ORDERS, body(p, 2), format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert_problem(failed, 409, "out_of_stock")

    # when the client retries the key with a fixed request
    response = client.post(ORDERS, body(p, 1), format="json", HTTP_IDEMPOTENCY_KEY="k")

    # then it runs
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "caf\u00e9"])
def test_invalid_keys_are_400(client_for, customer, key):
    response = client_for(customer).post(
        ORDERS, body(product()), format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert_problem(response, 400, "idempotency_key_invalid")
    assert Order.objects.count() == 0


def test_cancel_with_a_key_replays_instead_of_conflicting(client_for, customer):
    # given a pending order cancelled with a key
    order = make_order(user=customer)
    client = client_for(customer)
    first = client.post(f"{ORDERS}{order.id}/cancel/", HTTP_IDEMPOTENCY_KEY="c-1")
    assert first.status_code == 200

    # when the cancel is retried with the key, then the success is replayed
    again = client.post(f"{ORDERS}{order.id}/cancel/", HTTP_IDEMPOTENCY_KEY="c-1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    # and without it, the second cancel is the conflict it is
    assert_problem(client.post(f"{ORDERS}{order.id}/cancel/"), 409, "invalid_transition")
    assert (
        Order.objects.get(pk=order.pk).events.filter(to_status=OrderStatus.CANCELLED).count() == 1
    )


def test_cancel_key_reused_on_another_order_is_422(client_for, customer):
    first, second = make_order(user=customer), make_order(user=customer)
    client = client_for(customer)
    client.post(f"{ORDERS}{first.id}/cancel/", HTTP_IDEMPOTENCY_KEY="c-1")
    response = client.post(f"{ORDERS}{second.id}/cancel/", HTTP_IDEMPOTENCY_KEY="c-1")
    assert_problem(response, 422, "idempotency_key_reused")
    assert Order.objects.get(pk=second.pk).status == OrderStatus.PENDING


def test_form_encoded_bodies_are_fingerprinted_too(client_for, customer):
    # given a cancel sent as a form with a key
    order = make_order(user=customer)
    client = client_for(customer)
    url = f"{ORDERS}{order.id}/cancel/"
    client.post(url, {"reason": "a"}, format="multipart", HTTP_IDEMPOTENCY_KEY="f")

    # when the key comes back with another form, then it is a reuse
    response = client.post(url, {"reason": "b"}, format="multipart", HTTP_IDEMPOTENCY_KEY="f")
    assert_problem(response, 422, "idempotency_key_reused")


def test_purge_deletes_only_expired_keys(client_for, customer):
    # given one expired and one live key
    client = client_for(customer)
    client.post(ORDERS, body(product()), format="json", HTTP_IDEMPOTENCY_KEY="old")
    client.post(ORDERS, body(product()), format="json", HTTP_IDEMPOTENCY_KEY="new")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now())

    # when the purge runs, then only the expired one is gone
    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
