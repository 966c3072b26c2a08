"""Celery tasks of the orders app, run eagerly (in-process, retries immediate)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from storefront.catalog.models import Product
from storefront.orders import tasks
from storefront.orders.models import FakeCharge, IdempotencyKey, Order, OrderStatus
from storefront.orders.tests.factories import UserFactory, make_order, product

pytestmark = pytest.mark.django_db

S = OrderStatus


def test_process_order_pays_a_pending_order():
    order = make_order()

    result = tasks.process_order.apply(args=[str(order.id)])

    assert result.get() == S.PAID
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.events.last().task_id == result.id


def test_process_order_does_nothing_unless_the_order_is_pending():
    # given a cancelled order
    order = make_order(status=S.CANCELLED)

    # when the task runs (a late redelivery)
    tasks.process_order.apply(args=[str(order.id)]).get()

    # then nothing is charged and nothing changes
    assert FakeCharge.objects.count() == 0
    order.refresh_from_db()
    assert order.status == S.CANCELLED


def test_process_order_ignores_unknown_orders():
    assert tasks.process_order.apply(args=["00000000-0000-0000-0000-000000000000"]).get() is None


def test_process_order_retries_transient_errors_then_pays_once():
    order = make_order(token="tok_transient")

    result = tasks.process_order.apply(args=[str(order.id)])

    assert result.get() == S.PAID
    charge = FakeCharge.objects.get()
    assert charge.attempts == 3


def test_process_order_fails_the_order_after_the_last_retry_and_releases_stock(settings):
    # given a gateway that never answers and 2 retries allowed
    settings.ORDER_PAYMENT_MAX_RETRIES = 2
    p = product(stock=5)
    order = make_order(items=[(p, 2)], token="tok_error")

    # when the task runs
    tasks.process_order.apply(args=[str(order.id)]).get()

    # then it tried 3 times, then failed the order and gave the stock back
    assert FakeCharge.objects.get().attempts == 3
    order.refresh_from_db()
    assert order.status == S.FAILED
    assert "after 3 attempts" in order.events.last().note
    assert Product.objects.get(pk=p.pk).stock == 5


def test_process_order_is_late_acked_and_backs_off_with_jitter():
    task = tasks.process_order
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert task.autoretry_for == (tasks.TransientPaymentError,)
    assert task.retry_backoff is True
    assert task.retry_jitter is True
    assert task.max_retries == settings.ORDER_PAYMENT_MAX_RETRIES


def test_retry_waits_are_capped_by_the_setting(settings):
    # given a 7-second cap
    settings.ORDER_PAYMENT_RETRY_BACKOFF_MAX = 7

    # when autoretry asks for a long wait, then the cap applies
    with mock.patch("celery.app.task.Task.retry") as retry:
        tasks.process_order.retry(countdown=300)
        tasks.process_order.retry(countdown=3)
    assert [c.kwargs["countdown"] for c in retry.call_args_list] == [7, 3]


def test_eager_tasks_still_propagate_a_final_failure():
    # given a task failing for good (not a transient error)
    with (
        mock.patch.object(tasks.services, "order_pay", side_effect=RuntimeError("bug")),
        pytest.raises(RuntimeError, match="bug"),
    ):
        # when it runs eagerly, then the error reaches the caller
        tasks.process_order.apply(args=["00000000-0000-0000-0000-000000000000"])


def test_send_order_confirmation_retries_when_the_mail_server_is_down():
    # given a paid order and a mail server that fails once
    order = make_order(status=S.PAID)
    mail.outbox.clear()
    real_send = tasks.services.send_mail
    calls = []

    def flaky_send(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionRefusedError("smtp down")
        return real_send(*args, **kwargs)

    # when the confirmation task runs
    with mock.patch.object(tasks.services, "send_mail", flaky_send):
        assert tasks.send_order_confirmation.apply(args=[str(order.id)]).get() is True

    # then it was retried and one e-mail went out
    assert len(calls) == 2
    assert len(mail.outbox) == 1


def test_send_order_confirmation_task_sends_once():
    order = make_order(user=UserFactory(), status=S.PAID)
    mail.outbox.clear()

    assert tasks.send_order_confirmation.apply(args=[str(order.id)]).get() is True
    assert tasks.send_order_confirmation.apply(args=[str(order.id)]).get() is False
    assert len(mail.outbox) == 1


def test_expire_unpaid_orders_task(settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 15
    order = make_order()
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=20))

    assert tasks.expire_unpaid_orders.apply().get() == 1
    order.refresh_from_db()
    assert order.status == S.CANCELLED


def test_purge_idempotency_keys_task():
    user = UserFactory()
    IdempotencyKey.objects.create(
        user=user, scope="s", key="old", fingerprint="f", expires_at=timezone.now()
    )
    assert tasks.purge_idempotency_keys.apply().get() == 1


def test_beat_runs_the_sweeps():
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["orders.expire_unpaid_orders"] == 60.0
    assert schedule["orders.purge_idempotency_keys"] == 3600.0
    assert schedule["orders.send_missing_confirmations"] == 300.0
    assert {
        "orders.expire_unpaid_orders",
        "orders.purge_idempotency_keys",
        "orders.send_missing_confirmations",
    } <= set(tasks.process_order.app.tasks)


def test_send_missing_confirmations_task_runs_the_sweep():
    order = make_order(status=OrderStatus.PAID)
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(hours=1))

    assert tasks.send_missing_confirmations.apply().get() == 1
