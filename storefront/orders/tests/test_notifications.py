"""Order events reach people: every status change notifies the owner, every new
order is announced to staff, and nothing is pushed for a change that rolls back."""

from __future__ import annotations

import pytest
from django.db import transaction

from storefront.notifications import services as notifications
from storefront.notifications.models import Notification
from storefront.notifications.tests.helpers import receive_from_group
from storefront.orders import services
from storefront.orders.models import OrderStatus
from storefront.orders.tests.factories import ADDRESS, UserFactory, make_order, product

pytestmark = pytest.mark.django_db

S = OrderStatus


def test_status_change_stores_a_notification_and_pushes_it_to_the_owner_after_commit(
    django_capture_on_commit_callbacks,
):
    # given a pending order
    order = make_order()
    Notification.objects.all().delete()

    # when it is paid and the transaction commits
    def pay():
        with django_capture_on_commit_callbacks(execute=True):
            services.order_transition(order_id=order.id, to=S.PAID)

    event = receive_from_group(notifications.user_group(order.user_id), pay)

    # then the owner has one order.status notification, and it reached their sockets
    notification = Notification.objects.get(user_id=order.user_id)
    assert notification.kind == "order.status"
    assert notification.payload == {
        "order": str(order.id),
        "status": "paid",
        "previous": "pending",
        "total": str(order.total),
        "currency": order.currency,
    }
    assert event["message"]["id"] == str(notification.id)
    assert event["message"]["payload"]["status"] == "paid"


def test_each_transition_of_an_order_creates_one_notification():
    # given an order that is paid, then fulfilled
    order = make_order(status=S.FULFILLED)

    # then the owner was told of each step, in order
    statuses = list(
        Notification.objects.filter(user_id=order.user_id)
        .order_by("created_at")
        .values_list("payload__status", flat=True)
    )
    assert statuses == ["paid", "fulfilled"]


def test_a_transition_that_rolls_back_leaves_no_notification(
    django_capture_on_commit_callbacks,
):
    # given a pending order
    order = make_order()
    Notification.objects.all().delete()

    # when the transition's transaction rolls back
    def cancel_then_fail():
        with transaction.atomic():
            services.order_transition(order_id=order.id, to=S.CANCELLED)
            raise RuntimeError("something later in the transaction failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        cancel_then_fail()

    # then nothing was stored and no push was scheduled
    assert not Notification.objects.exists()
    assert callbacks == []


def test_a_new_order_is_announced_to_staff_after_commit(django_capture_on_commit_callbacks):
    # given a customer and a product in stock
    customer = UserFactory()
    mug = product(stock=3, price="12.50")

    # when the customer places an order
    placed = []

    def place():
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            placed.append(
                services.order_create(
                    user=customer,
                    items=[services.OrderItem(product_id=mug.id, quantity=1)],
                    shipping_address=ADDRESS,
                    payment_token="tok_decline",
                )
            )
        # run only the pushes, not the payment task, so the order stays pending
        for callback in callbacks:
            if getattr(callback, "func", None) is notifications.group_push:
                callback()

    event = receive_from_group(notifications.STAFF_GROUP, place)

    # then the staff group heard of it, with the order's id, owner and total
    order = placed[0]
    assert event["message"]["type"] == "order.created"
    assert event["message"]["payload"] == {
        "order": str(order.id),
        "user": str(customer.id),
        "status": "pending",
        "total": "12.50",
        "currency": order.currency,
    }
