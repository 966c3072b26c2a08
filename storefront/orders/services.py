"""Order writes: placing, paying, cancelling, fulfilling and expiring orders.

Each service owns its transaction. Every status change goes through
`order_transition()`, the single choke point: it locks the order row, checks
the status machine (`Order.TRANSITIONS`), releases stock when an order fails or
is cancelled, writes the audit event and schedules the side effects with
`transaction.on_commit`.

Stock is reserved with conditional UPDATEs (stock = stock - q WHERE stock >= q)
taken in ascending product id order, last in the order's transaction, so
concurrent orders can neither oversell nor deadlock and a popular product's
row stays locked only briefly; every stock change invalidates the catalog
read cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from storefront.catalog.cache import invalidate_catalog
from storefront.catalog.models import Product
from storefront.core.exceptions import Unprocessable
from storefront.notifications.services import notify_order_created, notify_order_status
from storefront.orders.exceptions import (
    CurrencyMismatch,
    InvalidTransition,
    OutOfStock,
    PaymentUnavailable,
    PriceChanging,
    ProductUnavailable,
)
from storefront.orders.models import (
    MAX_LINE_QUANTITY,
    MAX_LINES,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)
from storefront.orders.payments import (
    PaymentDeclined,
    TransientPaymentError,
    get_payment_gateway,
)

logger = logging.getLogger("storefront.orders")

# How many times an order is built again when a price changes under it.
PRICE_CHANGE_RETRIES = 3


@dataclass(frozen=True)
class OrderItem:
    product_id: UUID
    quantity: int


# --- Stock ------------------------------------------------------------------


class _PriceChanged(Exception):
    """A product's price or currency changed between reading it and reserving it."""


def _reserve_stock(quantities: Mapping[UUID, int], products: Mapping[UUID, Product]) -> None:
    """Take the stock of every product, at the price read, or fail (the caller rolls back).

    One conditional UPDATE per product, in ascending id order: the row locks
    are always taken in the same order, so two orders sharing products wait
    for each other instead of deadlocking, and `stock >= q` in the WHERE
    clause makes overselling impossible whatever the concurrency. The price
    and currency the order lines were built from are part of the condition:
    the stock is only taken if they still hold under the lock.
    """
    now = timezone.now()
    for product_id in sorted(quantities):
        quantity = quantities[product_id]
        read = products[product_id]
        available = Product.objects.filter(
            pk=product_id,
            is_active=True,
            stock__gte=quantity,
            price=read.price,
            currency=read.currency,
        )
        if available.update(stock=F("stock") - quantity, updated_at=now):
            continue
        product = Product.objects.filter(pk=product_id, is_active=True).first()
        if product is None:
            raise ProductUnavailable(f"Product {product_id} does not exist or is not for sale.")
        if product.stock < quantity:
            raise OutOfStock(
                f"Not enough stock for product {product.id} ({product.name}, sku {product.sku}): "
                f"{quantity} requested, {product.stock} available."
            )
        raise _PriceChanged(product_id)
    invalidate_catalog(product_ids=list(quantities))


def _release_stock(order: Order) -> None:
    """Give an order's reserved stock back (same id order as reservations)."""
    lines = sorted(
        (line for line in order.lines.all() if line.product_id is not None),
        key=lambda line: line.product_id,
    )
    now = timezone.now()
    for line in lines:
        # all_objects: a product deleted since the purchase still gets its stock back.
        Product.all_objects.filter(pk=line.product_id).update(
            stock=F("stock") + line.quantity, updated_at=now
        )
    invalidate_catalog(product_ids=[line.product_id for line in lines])


# --- Placing an order -------------------------------------------------------


def _check_items(items: Sequence[OrderItem]) -> None:
    # The API validates these per field; this guards every other caller.
    if not 1 <= len(items) <= MAX_LINES:
        raise Unprocessable(f"An order has 1 to {MAX_LINES} items.", code="invalid_items")
    if len({item.product_id for item in items}) != len(items):
        raise Unprocessable("Each product may appear only once.", code="invalid_items")
    if any(not 1 <= item.quantity <= MAX_LINE_QUANTITY for item in items):
        raise Unprocessable(
            f"Quantities are 1 to {MAX_LINE_QUANTITY} per product.", code="invalid_items"
        )


def order_create(
    *,
    user,
    items: Sequence[OrderItem],
    shipping_address: Mapping[str, str],
    payment_token: str,
) -> Order:
    """Reserve the stock and record a pending order; payment runs after commit.

    Prices, line totals and the order total are computed here from the
    catalog, never taken from the client.

    The row locks of the stock reservation are taken last, just before the
    commit: every buyer of a popular product waits for that row, so it is held
    for two statements, not for the whole order (measured in
    docs/performance.md, "Orders"). The lines are built from an unlocked read,
    and the reservation only succeeds if each product still has the price and
    currency read; if one changed in between, the whole order is built again.
    """
    _check_items(items)
    quantities = {item.product_id: item.quantity for item in items}
    for _attempt in range(PRICE_CHANGE_RETRIES):
        try:
            return _order_create_once(
                user=user,
                items=items,
                quantities=quantities,
                shipping_address=shipping_address,
                payment_token=payment_token,
            )
        except _PriceChanged:
            continue
    raise PriceChanging("Prices of these products are changing right now; try again.")


def _order_create_once(
    *,
    user,
    items: Sequence[OrderItem],
    quantities: Mapping[UUID, int],
    shipping_address: Mapping[str, str],
    payment_token: str,
) -> Order:
    with transaction.atomic():
        products = (
            Product.objects.filter(is_active=True)
            .only("id", "sku", "name", "price", "currency")  # what the lines snapshot
            .in_bulk(list(quantities))
        )
        missing = [str(product_id) for product_id in quantities if product_id not in products]
        if missing:
            raise ProductUnavailable(f"Product {missing[0]} does not exist or is not for sale.")
        currencies = {product.currency for product in products.values()}
        if len(currencies) != 1:
            raise CurrencyMismatch(
                f"The products are priced in {', '.join(sorted(currencies))}; "
                "order them separately."
            )
        lines = []
        for position, item in enumerate(items):
            product = products[item.product_id]
            lines.append(
                OrderLine(
                    product=product,
                    position=position,
                    sku=product.sku,
                    name=product.name,
                    unit_price=product.price,
                    quantity=item.quantity,
                    line_total=OrderLine.total_for(product.price, item.quantity),
                )
            )
        order = Order.objects.create(
            user=user,
            currency=currencies.pop(),
            total=sum((line.line_total for line in lines), Decimal("0.00")),
            shipping_name=shipping_address["name"],
            shipping_line1=shipping_address["line1"],
            shipping_line2=shipping_address.get("line2", ""),
            shipping_city=shipping_address["city"],
            shipping_postal_code=shipping_address["postal_code"],
            shipping_country=shipping_address["country"],
            payment_token=payment_token,
        )
        for line in lines:
            line.order = order
        OrderLine.objects.bulk_create(lines)
        order.cache_lines(lines)  # the 201 shows them: no need to read them back
        OrderEvent.objects.create(
            order=order, actor=user, from_status="", to_status=OrderStatus.PENDING, note="placed"
        )
        # Last: from here to the commit, the products' rows are locked.
        _reserve_stock(quantities, products)
        order_id = str(order.id)
        transaction.on_commit(lambda: order_dispatch(order_id=order_id))
        notify_order_created(order=order)  # staff sockets hear of every new order
    return order


# --- Dispatching payment (docs/reliability.md, "Broker unreachable") --------


def order_dispatch(*, order_id: UUID | str) -> bool:
    """Send process_order for an order; mark it dispatched. Never raises on a broker outage.

    Called after the order is committed. If the broker cannot take the message
    (kombu's OperationalError, after CELERY_TASK_PUBLISH_RETRY_POLICY's few
    quick retries) the failure is logged and the order stays undispatched
    (`dispatched_at` null): the dispatch sweep sends it again once the broker
    is back. The customer's 201 never depends on the broker.
    """
    from storefront.orders import tasks

    try:
        tasks.process_order.delay(str(order_id))
    except KombuOperationalError:
        logger.warning(
            "broker unavailable: order left for the dispatch sweep",
            exc_info=True,
            extra={"order_id": str(order_id)},
        )
        return False
    Order.objects.filter(pk=order_id, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now()
    )
    return True


def orders_dispatch_undispatched(*, now: datetime | None = None) -> int:
    """Send process_order again for pending orders the broker never took.

    An order is undispatched when its on-commit publish failed (broker down)
    or never ran (the process died between commit and publish). Orders younger
    than ORDER_DISPATCH_GRACE_SECONDS are left to their own publish. Sending
    twice is harmless: process_order does nothing unless the order is pending
    and the gateway charges once per order id. Returns the number sent.
    """
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.ORDER_DISPATCH_GRACE_SECONDS)
    order_ids = Order.objects.undispatched_since(cutoff).values_list("id", flat=True)
    sent = 0
    for order_id in order_ids.iterator():
        if not order_dispatch(order_id=order_id):
            break  # the broker is still down: the next sweep tries again
        sent += 1
    if sent:
        logger.info("dispatch sweep re-sent %d order(s)", sent)
    return sent


# --- The status machine -----------------------------------------------------


def _schedule_side_effects(order: Order, from_status: str, to_status: str) -> None:
    """What must happen after a status change commits (and only if it does)."""
    order_id = str(order.id)
    # The owner's notification row is written in this transaction; its push
    # to the owner's sockets goes out on commit.
    notify_order_status(order=order, from_status=from_status, to_status=to_status)
    if to_status == OrderStatus.PAID:
        transaction.on_commit(lambda: _schedule_confirmation(order_id))


def _schedule_confirmation(order_id: str) -> None:
    """Publish the confirmation e-mail task; a broker outage leaves it to the sweep."""
    from storefront.orders import tasks

    try:
        tasks.send_order_confirmation.delay(order_id)
    except KombuOperationalError:
        logger.warning(
            "broker unavailable: confirmation left for the confirmation sweep",
            exc_info=True,
            extra={"order_id": order_id},
        )


def order_transition(
    *,
    order_id: UUID | str,
    to: str,
    by=None,
    task_id: str | None = None,
    note: str = "",
    changes: Mapping[str, object] | None = None,
    only_from: str | None = None,
) -> Order | None:
    """Move an order to status `to`: the one function every status change goes through.

    Locks the order row (SELECT ... FOR UPDATE), checks the transition
    (InvalidTransition, a 409, otherwise), releases stock when entering failed
    or cancelled, sets the status timestamp and `changes`, writes the audit
    event (`by` is None for the system) and schedules side effects on commit.

    `only_from`: the idempotent form for tasks and sweeps; an order that is no
    longer in that status is left alone and None is returned.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        from_status = order.status
        if only_from is not None and from_status != only_from:
            return None
        if not order.can_transition_to(to):
            raise InvalidTransition(f"The order is {from_status}; it cannot become {to}.")
        if to in Order.RELEASES_STOCK:
            _release_stock(order)
        order.status = to
        timestamp_field = Order.TIMESTAMP_FIELDS[to]
        setattr(order, timestamp_field, timezone.now())
        fields = {"status", "updated_at", timestamp_field}
        for name, value in (changes or {}).items():
            setattr(order, name, value)
            fields.add(name)
        order.save(update_fields=sorted(fields))
        OrderEvent.objects.create(
            order=order,
            actor=by,
            from_status=from_status,
            to_status=to,
            task_id=task_id or "",
            note=note,
        )
        _schedule_side_effects(order, from_status, to)
    return order


def order_cancel(*, order_id: UUID | str, by, note: str = "") -> Order:
    """Cancel a pending or paid order: stock goes back, a paid order is refunded.

    The refund happens under the order's row lock, before the status changes:
    if the gateway cannot refund now (503), the order stays paid. Refunds are
    idempotent per charge, so retrying a cancel never refunds twice.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if not order.is_cancellable:
            raise InvalidTransition(f"The order is {order.status}; it cannot be cancelled.")
        changes = {}
        if order.status == OrderStatus.PAID:
            try:
                refund = get_payment_gateway().refund(charge_id=order.charge_id)
            except TransientPaymentError as exc:
                raise PaymentUnavailable(
                    "The refund could not be made now; the order is still paid. Try again."
                ) from exc
            changes["refund_id"] = refund.id
            note = f"{note} refunded {refund.id}".strip()
        return order_transition(
            order_id=order.id, to=OrderStatus.CANCELLED, by=by, note=note, changes=changes
        )


def order_fulfil(*, order_id: UUID | str, by) -> Order:
    """Mark a paid order as shipped (staff)."""
    return order_transition(order_id=order_id, to=OrderStatus.FULFILLED, by=by)


# --- Payment (called by the process_order task) -----------------------------


def _refund_stray_charge(order: Order) -> None:
    """Refund a charge that landed after the order was cancelled (or failed).

    A TransientPaymentError propagates: the task retries, and this runs again.
    """
    if order.status not in Order.RELEASES_STOCK or not order.charge_id or order.refund_id:
        return
    refund = get_payment_gateway().refund(charge_id=order.charge_id)
    Order.objects.filter(pk=order.pk, refund_id="").update(refund_id=refund.id)
    logger.warning(
        "refunded a charge made after the order was %s",
        order.status,
        extra={"order_id": str(order.id), "charge_id": order.charge_id},
    )


def order_pay(*, order_id: UUID | str, task_id: str | None = None) -> Order | None:
    """Charge a pending order; paid on success, failed (stock back) if declined.

    Idempotent: an order that is no longer pending is left alone (apart from
    refunding a charge that arrived after it was cancelled). The order id is
    the charge's idempotency key, so running this again never charges twice.
    The charge is made outside any transaction (no row lock is held across a
    network call); the result is recorded under the row lock, after checking
    the order is still pending: if it was cancelled meanwhile (expiry, the
    customer), the charge is refunded.

    Raises TransientPaymentError for the task to retry.
    """
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        logger.warning("payment skipped: no such order", extra={"order_id": str(order_id)})
        return None
    if order.status != OrderStatus.PENDING:
        _refund_stray_charge(order)
        return order
    gateway = get_payment_gateway()
    try:
        charge = gateway.charge(
            amount=order.total,
            currency=order.currency,
            token=order.payment_token,
            idempotency_key=str(order.id),
        )
    except PaymentDeclined as exc:
        order_transition(
            order_id=order.id,
            to=OrderStatus.FAILED,
            task_id=task_id,
            note=f"payment declined: {exc}",
            only_from=OrderStatus.PENDING,
        )
        return Order.objects.get(pk=order.pk)
    # The transition is its own transaction (no savepoint inside an outer
    # one: two statements fewer per payment). If the order had left pending
    # meanwhile, it can never come back to it: recording the charge under a
    # second lock sees the same status or a later one, as a cancel or
    # fulfilment made just after the first would.
    paid = order_transition(
        order_id=order.id,
        to=OrderStatus.PAID,
        task_id=task_id,
        note=f"charged {charge.id}",
        changes={"charge_id": charge.id},
        only_from=OrderStatus.PENDING,
    )
    if paid is not None:
        return paid
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if not order.charge_id:
            order.charge_id = charge.id
            order.save(update_fields=["charge_id", "updated_at"])
    _refund_stray_charge(order)
    return order


def order_fail_payment(
    *, order_id: UUID | str, task_id: str | None = None, note: str = ""
) -> Order | None:
    """Give up on paying a pending order (retries exhausted); stock goes back."""
    return order_transition(
        order_id=order_id,
        to=OrderStatus.FAILED,
        task_id=task_id,
        note=note,
        only_from=OrderStatus.PENDING,
    )


# --- Expiry -----------------------------------------------------------------


def payment_deadline_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)


def orders_expire_unpaid(*, now: datetime | None = None, task_id: str | None = None) -> int:
    """Cancel orders pending for longer than ORDER_PAYMENT_TIMEOUT_MINUTES.

    One short transaction per order. The row is locked with SKIP LOCKED and its
    status checked again: an order whose payment is being recorded right now
    is skipped (the next sweep sees it paid), and a paid one is never touched.
    Returns the number of orders cancelled.
    """
    cutoff = payment_deadline_cutoff(now)
    minutes = settings.ORDER_PAYMENT_TIMEOUT_MINUTES
    expired = 0
    for order_id in Order.objects.unpaid_since(cutoff).values_list("id", flat=True).iterator():
        with transaction.atomic():
            locked = (
                Order.objects.select_for_update(skip_locked=True)
                .unpaid_since(cutoff)
                .filter(pk=order_id)
                .exists()
            )
            if not locked:
                continue
            order_transition(
                order_id=order_id,
                to=OrderStatus.CANCELLED,
                task_id=task_id,
                note=f"payment not received within {minutes} minutes",
                only_from=OrderStatus.PENDING,
            )
            expired += 1
    return expired


# --- Confirmation e-mail ----------------------------------------------------


def order_send_confirmation(*, order_id: UUID | str) -> bool:
    """E-mail the customer that their order is paid; at most once per order.

    The order is claimed (confirmation_sent_at set) before sending; if sending
    fails the claim is undone and the error propagates for the task to retry.
    Returns False when there is nothing to send (already sent, or not paid).
    """
    claimed = Order.objects.filter(
        pk=order_id,
        confirmation_sent_at__isnull=True,
        status__in=[OrderStatus.PAID, OrderStatus.FULFILLED],
    ).update(confirmation_sent_at=timezone.now())
    if not claimed:
        return False
    order = Order.objects.with_lines().select_related("user").get(pk=order_id)
    context = {"order": order, "lines": order.lines.all()}
    try:
        send_mail(
            subject=f"Your order {str(order.id)[:8]} is confirmed",
            message=render_to_string("orders/email/confirmation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[order.user.email],
        )
    except Exception:
        Order.objects.filter(pk=order_id).update(confirmation_sent_at=None)
        raise
    return True


def orders_send_missing_confirmations(*, now: datetime | None = None, limit: int = 100) -> int:
    """Send the confirmation of paid orders whose e-mail never went out.

    The e-mail is normally sent by a task scheduled when the order is paid. It
    is missing if that task never reached the broker (down at that moment) or
    ran out of retries (the mail server was down longer than its backoff).
    Orders paid more than ORDER_CONFIRMATION_GRACE_SECONDS ago are sent here,
    oldest first, at most `limit` per run; the first failure to send ends the
    run (the mail server is still down: the next sweep tries again). Returns
    the number sent.
    """
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.ORDER_CONFIRMATION_GRACE_SECONDS)
    order_ids = list(
        Order.objects.unconfirmed_paid_before(cutoff).values_list("id", flat=True)[:limit]
    )
    sent = 0
    for order_id in order_ids:
        try:
            if order_send_confirmation(order_id=order_id):
                sent += 1
        except Exception:
            logger.warning(
                "confirmation sweep: sending failed, left for the next run",
                exc_info=True,
                extra={"order_id": str(order_id)},
            )
            break
    if sent:
        logger.info("confirmation sweep sent %d e-mail(s)", sent)
    return sent
