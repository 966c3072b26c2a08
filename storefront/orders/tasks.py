"""Celery entry points of the orders app: load by id, call a service; idempotent.

process_order charges a pending order. Transient gateway errors are retried
with exponential backoff and full jitter (ORDER_PAYMENT_MAX_RETRIES times,
waits capped at ORDER_PAYMENT_RETRY_BACKOFF_MAX seconds); on the last attempt
the order fails and its stock is released. acks_late + reject_on_worker_lost:
a worker dying mid-task leaves the message to be redelivered, which is safe
because the task does nothing unless the order is still pending and the
gateway charges once per order id.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from storefront.orders import services
from storefront.orders.idempotency import idempotency_keys_purge
from storefront.orders.payments import TransientPaymentError


class OrdersTask(Task):
    """Eager runs (embedded mode, tests) retry like a worker would.

    With task_eager_propagates, Celery re-raises the Retry of an eager task
    instead of running the retry, so an autoretried task would fail its
    caller on the first transient error. Retries run (immediately, eagerly)
    and only a final failure propagates.
    """

    def apply(self, args=None, kwargs=None, *, throw=None, **options):
        throw = self.app.conf.task_eager_propagates if throw is None else throw
        result = super().apply(args, kwargs, throw=False, **options)
        if throw:
            result.maybe_throw()
        return result


class PaymentTask(OrdersTask):
    """Retry policy read from settings when the task runs, not at import.

    Celery fixes autoretry's backoff cap when the task class is created;
    `retry()` re-applies the current setting so deployments (and tests) can
    change it without re-importing the task.
    """

    autoretry_for = (TransientPaymentError,)
    retry_backoff = True
    retry_jitter = True
    acks_late = True
    reject_on_worker_lost = True

    @property
    def max_retries(self) -> int:  # type: ignore[override]
        return settings.ORDER_PAYMENT_MAX_RETRIES

    def retry(self, *args, countdown=None, **kwargs):
        if countdown is not None:
            countdown = min(countdown, settings.ORDER_PAYMENT_RETRY_BACKOFF_MAX)
        return super().retry(*args, countdown=countdown, **kwargs)


@shared_task(bind=True, base=PaymentTask, name="orders.process_order")
def process_order(self, order_id: str) -> str | None:
    """Charge a pending order: paid, failed (declined or out of retries), or retried."""
    try:
        order = services.order_pay(order_id=order_id, task_id=self.request.id)
    except TransientPaymentError as exc:
        if self.request.retries < self.max_retries:
            raise  # autoretry_for schedules the next attempt
        order = services.order_fail_payment(
            order_id=order_id,
            task_id=self.request.id,
            note=f"payment provider unavailable after {self.request.retries + 1} attempts: {exc}",
        )
    return order.status if order is not None else None


@shared_task(
    bind=True,
    base=OrdersTask,
    name="orders.send_order_confirmation",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError,),  # smtplib's errors are OSErrors
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def send_order_confirmation(self, order_id: str) -> bool:
    """E-mail the paid-order confirmation (at most once per order)."""
    return services.order_send_confirmation(order_id=order_id)


@shared_task(bind=True, name="orders.expire_unpaid_orders", acks_late=True)
def expire_unpaid_orders(self) -> int:
    """Cancel orders left unpaid past ORDER_PAYMENT_TIMEOUT_MINUTES (beat, every minute)."""
    return services.orders_expire_unpaid(task_id=self.request.id)


@shared_task(bind=True, name="orders.dispatch_undispatched_orders", acks_late=True)
def dispatch_undispatched_orders(self) -> int:
    """Re-send process_order for pending orders the broker never took (beat)."""
    return services.orders_dispatch_undispatched()


@shared_task(name="orders.send_missing_confirmations", acks_late=True)
def send_missing_confirmations() -> int:
    """Send paid orders' confirmations that never went out (beat)."""
    return services.orders_send_missing_confirmations()


@shared_task(name="orders.purge_idempotency_keys", acks_late=True)
def purge_idempotency_keys() -> int:
    """Delete expired idempotency keys (beat, hourly)."""
    return idempotency_keys_purge()
