"""Order services: placing, the status machine, payment, cancellation, expiry, e-mail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from storefront.catalog.models import Product
from storefront.core.exceptions import Unprocessable
from storefront.orders import services, tasks
from storefront.orders.exceptions import (
    CurrencyMismatch,
    InvalidTransition,
    OutOfStock,
    PaymentUnavailable,
    PriceChanging,
    ProductUnavailable,
)
from storefront.orders.models import FakeCharge, Order, OrderEvent, OrderStatus
from storefront.orders.payments import FakePaymentGateway, TransientPaymentError
from storefront.orders.tests.factories import (
    ADDRESS,
    StaffFactory,
    UserFactory,
    make_order,
    product,
)

pytestmark = pytest.mark.django_db

S = OrderStatus


def place(user, items, token="tok_success"):  # noqa: S107 - a fake gateway token
    return services.order_create(
        user=user,
        items=[services.OrderItem(product_id=p.id, quantity=q) for p, q in items],
        shipping_address=ADDRESS,
        payment_token=token,
    )


def stock_of(p: Product) -> int:
    return Product.all_objects.get(pk=p.pk).stock


# --- Placing ----------------------------------------------------------------


def test_order_create_reserves_stock_snapshots_lines_and_computes_totals(
    django_capture_on_commit_callbacks,
):
    # given two products
    user = UserFactory()
    mug = product(stock=5, price="12.50", name="Mug", sku="MUG-1")
    tea = product(stock=3, price="4.99", name="Tea", sku="TEA-1")

    # when the customer orders 2 mugs and 3 teas
    with (
        mock.patch.object(tasks.process_order, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        order = place(user, [(mug, 2), (tea, 3)])

    # then stock is taken, lines snapshot the catalog and totals are computed
    assert (stock_of(mug), stock_of(tea)) == (3, 0)
    assert order.status == S.PENDING
    assert order.currency == "EUR"
    assert order.total == Decimal("39.97")
    lines = list(order.lines.order_by("position"))
    assert [(ln.sku, ln.name, ln.unit_price, ln.quantity, ln.line_total) for ln in lines] == [
        ("MUG-1", "Mug", Decimal("12.50"), 2, Decimal("25.00")),
        ("TEA-1", "Tea", Decimal("4.99"), 3, Decimal("14.97")),
    ]
    # and payment is scheduled with the order id, once the order is committed
    delay.assert_called_once_with(str(order.id))
    # and the placement is in the audit trail
    event = order.events.get()
    assert (event.from_status, event.to_status, event.actor) == ("", S.PENDING, user)


def test_order_create_schedules_payment_only_after_commit(django_capture_on_commit_callbacks):
    # given a product
    p = product(stock=5)

    # when an order is placed inside a transaction that then rolls back
    with (
        mock.patch.object(tasks.process_order, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
    ):
        place(UserFactory(), [(p, 1)])
        assert not delay.called  # not before commit
        transaction.set_rollback(True)

    # then no payment was scheduled, and nothing was kept
    assert not delay.called
    assert callbacks == []
    assert Order.objects.count() == 0
    assert stock_of(p) == 5


def test_later_catalog_changes_do_not_change_an_order():
    # given an order
    p = product(price="10.00")
    order = place(UserFactory(), [(p, 1)])

    # when the product's price and name change
    Product.objects.filter(pk=p.pk).update(price=Decimal("99.00"), name="Renamed")

    # then the order keeps what was sold
    line = order.lines.get()
    assert (line.unit_price, line.name) == (Decimal("10.00"), p.name)


def _read_before_a_price_change(monkeypatch, p: Product, times: int) -> None:
    """Make the first `times` orders of `p` see an older price than the one in
    the database, as when a staff edit commits between the order's unlocked
    read and its row lock."""
    reserve = services._reserve_stock
    remaining = [times]

    def stale_then_reserve(quantities, products):
        if remaining[0]:
            remaining[0] -= 1
            products[p.pk].price -= Decimal("1.00")
        return reserve(quantities, products)

    monkeypatch.setattr(services, "_reserve_stock", stale_then_reserve)


def test_an_order_is_built_again_at_the_new_price_when_a_price_changes_under_it(monkeypatch):
    # given a product whose price changes once while the order is being built
    p = product(stock=5, price="12.00")
    _read_before_a_price_change(monkeypatch, p, times=1)

    # when it is ordered
    order = place(UserFactory(), [(p, 2)])

    # then the order was built again, at the price that held under the lock
    assert order.lines.get().unit_price == Decimal("12.00")
    assert order.total == Decimal("24.00")
    assert stock_of(p) == 3
    assert Order.objects.count() == 1


def test_prices_that_keep_changing_are_a_conflict_and_nothing_is_kept(monkeypatch):
    # given a product whose price changes before every reservation
    p = product(stock=5, price="12.00")
    _read_before_a_price_change(monkeypatch, p, times=services.PRICE_CHANGE_RETRIES)

    # when it is ordered
    with pytest.raises(PriceChanging) as excinfo:
        place(UserFactory(), [(p, 1)])

    # then the customer is asked to retry, and no order or stock change remains
    assert excinfo.value.status_code == 409
    assert excinfo.value.get_codes() == "price_changing"
    assert Order.objects.count() == 0
    assert stock_of(p) == 5


def test_the_stock_rows_are_locked_last_in_the_order_transaction():
    """Buyers of one popular product queue on its row: it must stay locked for
    the reservation and the commit only, not for the whole order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    p = product(stock=5)
    user = UserFactory()

    with CaptureQueriesContext(connection) as queries:
        place(user, [(p, 1)])

    statements = [q["sql"].lstrip().split()[0].upper() + " " + q["sql"] for q in queries]
    stock_update = next(
        i
        for i, sql in enumerate(statements)
        if sql.startswith("UPDATE") and "catalog_product" in sql
    )
    inserts = [i for i, sql in enumerate(statements) if sql.startswith("INSERT")]
    assert inserts
    assert max(inserts) < stock_update
    assert not any(
        sql.startswith(("INSERT", "UPDATE", "SELECT")) for sql in statements[stock_update + 1 :]
    ), statements[stock_update + 1 :]


def test_order_create_out_of_stock_names_the_product_and_reserves_nothing():
    # given one product with enough stock and one without
    plenty = product(stock=10)
    scarce = product(stock=1, sku="SCARCE-1")

    # when both are ordered
    with pytest.raises(OutOfStock) as excinfo:
        place(UserFactory(), [(plenty, 2), (scarce, 2)])

    # then the error names the product and no stock was taken
    assert str(scarce.id) in str(excinfo.value.detail)
    assert "SCARCE-1" in str(excinfo.value.detail)
    assert excinfo.value.get_codes() == "out_of_stock"
    assert (stock_of(plenty), stock_of(scarce)) == (10, 1)
    assert Order.objects.count() == 0


@pytest.mark.parametrize("state", ["inactive", "deleted"])
def test_order_create_refuses_products_not_for_sale(state):
    # given a product that is not for sale
    p = product(stock=5)
    if state == "inactive":
        Product.objects.filter(pk=p.pk).update(is_active=False)
    else:
        p.delete()

    # when it is ordered, then it is unavailable and stock untouched
    with pytest.raises(ProductUnavailable):
        place(UserFactory(), [(p, 1)])
    assert stock_of(p) == 5


def test_order_create_refuses_mixed_currencies_and_gives_stock_back():
    # given products in two currencies
    eur = product(stock=5, currency="EUR")
    usd = product(stock=5, currency="USD")

    # when they are ordered together
    with pytest.raises(CurrencyMismatch):
        place(UserFactory(), [(eur, 1), (usd, 1)])

    # then nothing is reserved
    assert (stock_of(eur), stock_of(usd)) == (5, 5)


@pytest.mark.parametrize(
    "items",
    [
        [],
        [("same", 1), ("same", 2)],
        [("a", 0)],
        [("a", 101)],
    ],
)
def test_order_create_guards_the_item_rules_for_every_caller(items):
    # given products for the item names used
    products = {name: product() for name, _ in items}

    # when the service gets items that break the rules, then it refuses them
    with pytest.raises(Unprocessable):
        services.order_create(
            user=UserFactory(),
            items=[services.OrderItem(product_id=products[n].id, quantity=q) for n, q in items],
            shipping_address=ADDRESS,
            payment_token="tok_success",
        )


def test_stock_changes_invalidate_the_catalog_cache(django_capture_on_commit_callbacks):
    # given a product
    p = product(stock=5)

    # when it is ordered, then cancelled
    with (
        mock.patch("storefront.orders.services.invalidate_catalog") as invalidate,
        mock.patch.object(tasks.process_order, "delay"),
    ):
        order = place(UserFactory(), [(p, 2)])
        services.order_cancel(order_id=order.id, by=order.user)

    # then both stock changes invalidated the product's cached reads
    assert invalidate.call_args_list == [
        mock.call(product_ids=[p.id]),
        mock.call(product_ids=[p.id]),
    ]


# --- The status machine -----------------------------------------------------

LEGAL = {
    (S.PENDING, S.PAID),
    (S.PENDING, S.FAILED),
    (S.PENDING, S.CANCELLED),
    (S.PAID, S.FULFILLED),
    (S.PAID, S.CANCELLED),
}


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_order_transition_follows_the_status_machine(source, target):
    # given an order in `source` (set directly: this tests the table)
    order = make_order()
    Order.objects.filter(pk=order.pk).update(status=source)

    # when it is moved to `target`
    if (source, target) in LEGAL:
        services.order_transition(order_id=order.id, to=target, note="test")
        # then it moves and the audit trail records it
        order.refresh_from_db()
        assert order.status == target
        assert getattr(order, Order.TIMESTAMP_FIELDS[target]) is not None
        event = order.events.last()
        assert (event.from_status, event.to_status, event.actor, event.note) == (
            source,
            target,
            None,
            "test",
        )
    else:
        # then an illegal move is refused and nothing is written
        with pytest.raises(InvalidTransition):
            services.order_transition(order_id=order.id, to=target)
        order.refresh_from_db()
        assert order.status == source
        assert order.events.count() == 1


def test_order_transition_only_from_leaves_an_order_that_moved_on():
    # given a paid order
    order = make_order(status=S.PAID)

    # when a task tries to fail it as if it were still pending
    result = services.order_transition(order_id=order.id, to=S.FAILED, only_from=S.PENDING)

    # then nothing happens
    assert result is None
    order.refresh_from_db()
    assert order.status == S.PAID


def test_transition_to_paid_schedules_the_confirmation_after_commit(
    django_capture_on_commit_callbacks,
):
    # given a pending order
    order = make_order()

    # when it becomes paid
    with (
        mock.patch.object(tasks.send_order_confirmation, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.order_transition(order_id=order.id, to=S.PAID)
        assert not delay.called

    # then the confirmation e-mail is scheduled for it
    delay.assert_called_once_with(str(order.id))


# --- Cancel and fulfil ------------------------------------------------------


def test_cancel_pending_order_releases_stock():
    # given a pending order for 3 units
    p = product(stock=5)
    user = UserFactory()
    order = make_order(user=user, items=[(p, 3)])
    assert stock_of(p) == 2

    # when its owner cancels it
    services.order_cancel(order_id=order.id, by=user, note="by customer")

    # then the stock is back and the cancel is audited with its actor
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert order.refund_id == ""
    assert stock_of(p) == 5
    event = order.events.last()
    assert (event.from_status, event.to_status, event.actor) == (S.PENDING, S.CANCELLED, user)


def test_cancel_paid_order_refunds_and_releases_stock():
    # given a paid order
    p = product(stock=5)
    order = make_order(items=[(p, 2)], status=S.PAID)
    staff = StaffFactory()

    # when staff cancel it
    services.order_cancel(order_id=order.id, by=staff)

    # then the charge is refunded and the stock is back
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert order.refund_id.startswith("re_")
    assert FakeCharge.objects.get(idempotency_key=str(order.id)).refunded_at is not None
    assert stock_of(p) == 5


def test_cancel_paid_order_keeps_it_paid_when_the_refund_cannot_be_made():
    # given a paid order and a gateway that cannot refund right now
    p = product(stock=5)
    order = make_order(items=[(p, 2)], status=S.PAID)

    # when it is cancelled
    with (
        mock.patch.object(FakePaymentGateway, "refund", side_effect=TransientPaymentError),
        pytest.raises(PaymentUnavailable),
    ):
        services.order_cancel(order_id=order.id, by=order.user)

    # then it is still paid, with its stock still sold
    order.refresh_from_db()
    assert order.status == S.PAID
    assert stock_of(p) == 3


@pytest.mark.parametrize("status", [S.FAILED, S.CANCELLED, S.FULFILLED])
def test_cancel_is_refused_once_an_order_is_settled(status):
    # given an order that is failed, cancelled or fulfilled
    p = product(stock=5)
    order = make_order(items=[(p, 1)], status=status)
    stock = stock_of(p)

    # when it is cancelled, then the transition is refused and stock unchanged
    with pytest.raises(InvalidTransition):
        services.order_cancel(order_id=order.id, by=order.user)
    assert stock_of(p) == stock


def test_fulfil_paid_order():
    # given a paid order
    order = make_order(status=S.PAID)
    staff = StaffFactory()

    # when staff fulfil it
    services.order_fulfil(order_id=order.id, by=staff)

    # then it is fulfilled, by that staff member
    order.refresh_from_db()
    assert order.status == S.FULFILLED
    assert order.events.last().actor == staff


# --- Payment ----------------------------------------------------------------


def test_order_pay_charges_once_and_marks_the_order_paid():
    # given a pending order
    order = make_order()

    # when payment runs, twice (a redelivered task)
    services.order_pay(order_id=order.id, task_id="t-1")
    services.order_pay(order_id=order.id, task_id="t-2")

    # then the order is paid by one charge, with the task in the audit trail
    order.refresh_from_db()
    assert order.status == S.PAID
    charge = FakeCharge.objects.get()
    assert charge.idempotency_key == str(order.id)
    assert charge.attempts == 1
    assert order.charge_id == f"ch_{charge.id.hex}"
    assert order.events.last().task_id == "t-1"


@pytest.mark.django_db(transaction=True)
def test_order_pay_records_a_payment_in_one_transaction_without_a_savepoint():
    # given a pending order (real transactions: no test transaction around them)
    order = make_order()

    # when payment runs
    with CaptureQueriesContext(connection) as queries:
        services.order_pay(order_id=order.id)

    # then from locking the order to recording the payment, no savepoint is taken
    sql = [q["sql"] for q in queries]
    lock = next(i for i, q in enumerate(sql) if "FOR UPDATE" in q and '"orders_order"' in q)
    assert not any(q.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) for q in sql[lock - 1 :]), sql
    order.refresh_from_db()
    assert order.status == S.PAID


def test_order_pay_declined_fails_the_order_and_releases_stock():
    # given a pending order paid with a card that will be declined
    p = product(stock=5)
    order = make_order(items=[(p, 2)], token="tok_decline")

    # when payment runs
    services.order_pay(order_id=order.id)

    # then the order failed and its stock is back
    order.refresh_from_db()
    assert order.status == S.FAILED
    assert "declined" in order.events.last().note
    assert stock_of(p) == 5


def test_order_pay_raises_transient_errors_for_the_task_to_retry():
    # given a pending order and a gateway that is down
    order = make_order(token="tok_error")

    # when payment runs, then the transient error propagates; the order waits
    with pytest.raises(TransientPaymentError):
        services.order_pay(order_id=order.id)
    order.refresh_from_db()
    assert order.status == S.PENDING


def test_order_pay_for_a_missing_order_does_nothing():
    assert services.order_pay(order_id="00000000-0000-0000-0000-000000000000") is None


def test_charge_landing_after_a_cancel_is_refunded():
    # given a pending order cancelled while its payment was in flight
    p = product(stock=5)
    order = make_order(items=[(p, 1)])
    real_charge = FakePaymentGateway.charge

    def charge_then_cancel(self, **kwargs):
        charge = real_charge(self, **kwargs)
        services.order_cancel(order_id=order.id, by=order.user)  # the customer, meanwhile
        return charge

    # when the payment completes
    with mock.patch.object(FakePaymentGateway, "charge", charge_then_cancel):
        services.order_pay(order_id=order.id)

    # then the order stays cancelled, its stock back, and the money is returned
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert order.charge_id
    assert order.refund_id
    assert FakeCharge.objects.get().refunded_at is not None
    assert stock_of(p) == 5


def test_stray_charge_refund_is_retried_when_the_gateway_is_down():
    # given a cancelled order holding a charge that could not be refunded yet
    order = make_order(status=S.CANCELLED)
    charge = FakePaymentGateway().charge(
        amount=order.total, currency=order.currency, token="tok_success", idempotency_key="k"
    )
    Order.objects.filter(pk=order.pk).update(charge_id=charge.id)

    # when the payment task runs again, the refund is attempted (and may fail)
    with (
        mock.patch.object(FakePaymentGateway, "refund", side_effect=TransientPaymentError),
        pytest.raises(TransientPaymentError),
    ):
        services.order_pay(order_id=order.id)

    # and a later run refunds it
    services.order_pay(order_id=order.id)
    order.refresh_from_db()
    assert order.refund_id == f"re_{charge.id.removeprefix('ch_')}"


# --- Expiry -----------------------------------------------------------------


def _age(order: Order, minutes: int) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))


def test_expiry_cancels_old_pending_orders_and_releases_their_stock(settings):
    # given a 15-minute payment window, an old pending order, a recent one and an old paid one
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 15
    p = product(stock=10)
    old = make_order(items=[(p, 2)])
    recent = make_order(items=[(p, 3)])
    paid = make_order(items=[(p, 1)], status=S.PAID)
    _age(old, 16)
    _age(recent, 14)
    _age(paid, 60)

    # when the sweep runs
    expired = services.orders_expire_unpaid(task_id="sweep-1")

    # then only the old pending order is cancelled, by the system, its stock back
    assert expired == 1
    statuses = dict(Order.objects.values_list("id", "status"))
    assert statuses == {old.id: S.CANCELLED, recent.id: S.PENDING, paid.id: S.PAID}
    assert stock_of(p) == 10 - 3 - 1
    event = OrderEvent.objects.filter(order=old).last()
    assert (event.actor, event.task_id) == (None, "sweep-1")
    assert "15 minutes" in event.note


# --- Confirmation e-mail ----------------------------------------------------


def test_confirmation_is_sent_once_to_the_customer():
    # given a paid order
    user = UserFactory(first_name="Ada")
    order = make_order(user=user, status=S.PAID)
    mail.outbox.clear()

    # when the confirmation is sent twice (a redelivered task)
    assert services.order_send_confirmation(order_id=order.id) is True
    assert services.order_send_confirmation(order_id=order.id) is False

    # then one e-mail went to the customer, with the order's lines and total
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert str(order.id) in message.body
    assert f"Total: {order.total} EUR" in message.body
    assert "Hello Ada" in message.body


def test_confirmation_is_not_sent_for_an_unpaid_order():
    order = make_order(token="tok_decline")
    services.order_pay(order_id=order.id)

    assert services.order_send_confirmation(order_id=order.id) is False
    assert mail.outbox == []


def test_confirmation_failure_is_undone_for_a_retry():
    # given a paid order and a mail server that is down
    order = make_order(status=S.PAID)
    mail.outbox.clear()
    with (
        mock.patch("storefront.orders.services.send_mail", side_effect=OSError("down")),
        pytest.raises(OSError, match="down"),
    ):
        services.order_send_confirmation(order_id=order.id)

    # when it is retried, then the e-mail goes out
    assert services.order_send_confirmation(order_id=order.id) is True
    assert len(mail.outbox) == 1


def _paid_long_ago(order: Order, *, seconds: int) -> None:
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(seconds=seconds))


def test_the_sweep_sends_confirmations_that_never_went_out(settings):
    # given paid orders whose confirmation task was lost, one of them long ago
    settings.ORDER_CONFIRMATION_GRACE_SECONDS = 600
    lost = make_order(status=S.PAID)
    _paid_long_ago(lost, seconds=601)
    recent = make_order(status=S.PAID)  # its own task may still be on its way
    fulfilled = make_order(status=S.FULFILLED)
    _paid_long_ago(fulfilled, seconds=3600)
    mail.outbox.clear()

    # when the sweep runs
    sent = services.orders_send_missing_confirmations()

    # then the old ones are confirmed once, oldest first, and the recent one is left
    assert sent == 2
    assert [m.to for m in mail.outbox] == [[fulfilled.user.email], [lost.user.email]]
    recent.refresh_from_db()
    assert recent.confirmation_sent_at is None
    # and a second run finds nothing left
    assert services.orders_send_missing_confirmations() == 0
    assert len(mail.outbox) == 2


def test_the_sweep_leaves_orders_that_are_not_paid_or_were_refunded():
    # given a declined order, a cancelled unpaid one and a paid one cancelled since
    declined = make_order(token="tok_decline")
    services.order_pay(order_id=declined.id)
    make_order(status=S.CANCELLED)
    refunded = make_order(status=S.PAID)
    services.order_cancel(order_id=refunded.id, by=refunded.user)
    mail.outbox.clear()

    # when the sweep runs a day later, then none of them is confirmed
    assert services.orders_send_missing_confirmations(now=timezone.now() + timedelta(days=1)) == 0
    assert mail.outbox == []


def test_the_sweep_skips_confirmations_already_sent():
    order = make_order(status=S.PAID)
    assert services.order_send_confirmation(order_id=order.id) is True
    _paid_long_ago(order, seconds=3600)
    mail.outbox.clear()

    assert services.orders_send_missing_confirmations() == 0
    assert mail.outbox == []


def test_the_sweep_stops_at_the_first_failure_and_keeps_the_rest_for_later():
    # given two lost confirmations and a mail server that is down
    first, second = make_order(status=S.PAID), make_order(status=S.PAID)
    _paid_long_ago(first, seconds=3600)
    _paid_long_ago(second, seconds=1800)
    mail.outbox.clear()

    with mock.patch("storefront.orders.services.send_mail", side_effect=OSError("down")) as send:
        # when the sweep runs, then it stops after one attempt without raising
        assert services.orders_send_missing_confirmations() == 0
    assert send.call_count == 1

    # and once the server is back, both go out
    assert services.orders_send_missing_confirmations() == 2
    assert len(mail.outbox) == 2


def test_the_sweep_sends_at_most_its_limit_per_run():
    orders = [make_order(status=S.PAID) for _ in range(3)]
    for order in orders:
        _paid_long_ago(order, seconds=3600)
    mail.outbox.clear()

    assert services.orders_send_missing_confirmations(limit=2) == 2
    assert services.orders_send_missing_confirmations(limit=2) == 1


def test_a_broker_outage_when_an_order_is_paid_leaves_the_confirmation_to_the_sweep(
    django_capture_on_commit_callbacks, caplog
):
    # given a pending order, and a broker that refuses the confirmation task
    order = make_order()
    refused = KombuOperationalError("broker down")
    with (
        mock.patch.object(tasks.send_order_confirmation, "delay", side_effect=refused) as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        # when it is paid, then paying does not fail
        services.order_pay(order_id=order.id)

    # and the order is paid, its e-mail not sent but left for the sweep
    delay.assert_called_once_with(str(order.id))
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.confirmation_sent_at is None
    assert "confirmation sweep" in caplog.text
    _paid_long_ago(order, seconds=3600)
    assert services.orders_send_missing_confirmations() == 1
