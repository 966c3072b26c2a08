"""The fake payment gateway: outcomes by token, exactly-once charges, refunds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError

from storefront.orders.models import FakeCharge
from storefront.orders.payments import (
    FakePaymentGateway,
    PaymentDeclined,
    TransientPaymentError,
    get_payment_gateway,
)

pytestmark = pytest.mark.django_db


def charge(token: str, key: str = "order-1"):
    return FakePaymentGateway().charge(
        amount=Decimal("12.00"), currency="EUR", token=token, idempotency_key=key
    )


def test_the_configured_gateway_is_the_fake_by_default(settings):
    assert isinstance(get_payment_gateway(), FakePaymentGateway)


def test_success_charges_once_per_key():
    first = charge("tok_success")
    again = charge("tok_success")
    assert first == again
    assert first.amount == Decimal("12.00")
    assert FakeCharge.objects.get().attempts == 2  # two calls, one charge


def test_decline_is_final():
    with pytest.raises(PaymentDeclined):
        charge("tok_decline")
    assert FakeCharge.objects.get().outcome == FakeCharge.Outcome.DECLINED


def test_unknown_tokens_are_declined():
    with pytest.raises(PaymentDeclined):
        charge("tok_whatever")


def test_transient_fails_twice_then_succeeds():
    for _ in range(2):
        with pytest.raises(TransientPaymentError):
            charge("tok_transient")
    assert charge("tok_transient").id.startswith("ch_")
    assert FakeCharge.objects.get().attempts == 3


def test_error_is_always_transient():
    for _ in range(4):
        with pytest.raises(TransientPaymentError):
            charge("tok_error")


def test_refund_is_idempotent():
    made = charge("tok_success")
    gateway = FakePaymentGateway()
    first = gateway.refund(charge_id=made.id)
    refunded_at = FakeCharge.objects.get().refunded_at
    assert gateway.refund(charge_id=made.id) == first
    assert FakeCharge.objects.get().refunded_at == refunded_at


def test_the_ledger_has_one_charge_per_key():
    charge("tok_success", key="k")
    with pytest.raises(IntegrityError):
        FakeCharge.objects.create(
            idempotency_key="k", token="t", amount=1, currency="EUR", outcome="succeeded"
        )
