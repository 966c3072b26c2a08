"""Payment gateways: the interface the order services charge through, and a fake.

The class in settings.PAYMENT_GATEWAY (a dotted path) is the gateway; it must
charge at most once per idempotency key (the order id), so a retried task can
never charge twice, and refund at most once per charge.

Errors:
* `PaymentDeclined`: final (bad card, insufficient funds); the order fails.
* `TransientPaymentError`: try again later (timeouts, provider outage); the
  payment task retries with backoff, then gives up and fails the order.

`FakePaymentGateway` answers by token, keeping its state in the database
(`FakeCharge`) so that every worker process shares it:

* ``tok_success``: charged;
* ``tok_decline``: declined;
* ``tok_transient``: unavailable twice, charged on the third attempt;
* ``tok_error``: always unavailable;
* ``tok_slow``: charged, but the answer comes SLOW_SECONDS later (the charge
  is already recorded): fault tests kill a worker during that window
  (storefront/orders/tests/test_faults.py);
* anything else: declined as an unknown token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string


class PaymentError(Exception):
    """Base of the gateway's errors."""


class PaymentDeclined(PaymentError):
    """The payment was refused for good; retrying will not help."""


class TransientPaymentError(PaymentError):
    """The gateway could not answer now; the same call may succeed later."""


@dataclass(frozen=True)
class Charge:
    id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Refund:
    id: str
    charge_id: str


class PaymentGateway(Protocol):
    def charge(self, *, amount: Decimal, currency: str, token: str, idempotency_key: str) -> Charge:
        """Charge once per idempotency_key; a repeated call returns the same charge."""
        ...  # pragma: no cover

    def refund(self, *, charge_id: str) -> Refund:
        """Refund a charge in full; refunding it again returns the same refund."""
        ...  # pragma: no cover


def get_payment_gateway() -> PaymentGateway:
    """The configured gateway (settings.PAYMENT_GATEWAY), read at call time."""
    return import_string(settings.PAYMENT_GATEWAY)()


class FakePaymentGateway:
    """A gateway for development and tests; see the module docstring for tokens."""

    SUCCESS = "tok_success"
    DECLINE = "tok_decline"
    TRANSIENT = "tok_transient"
    ERROR = "tok_error"
    SLOW = "tok_slow"
    SLOW_SECONDS = 4.0
    TRANSIENT_FAILURES = 2  # tok_transient fails this many times, then succeeds

    def charge(self, *, amount: Decimal, currency: str, token: str, idempotency_key: str) -> Charge:
        from storefront.orders.models import FakeCharge

        Outcome = FakeCharge.Outcome
        # Our own transaction, committed before we answer: like a real
        # provider, what happened stays recorded whatever the caller does next.
        with transaction.atomic():
            record, _ = FakeCharge.objects.select_for_update().get_or_create(
                idempotency_key=idempotency_key,
                defaults={
                    "token": token,
                    "amount": amount,
                    "currency": currency,
                    "outcome": Outcome.UNAVAILABLE,
                },
            )
            record.attempts += 1
            if record.outcome != Outcome.SUCCEEDED:  # a success is final: never charge twice
                record.outcome = self._outcome(token, record.attempts)
            record.save(update_fields=["attempts", "outcome", "updated_at"])
        if token == self.SLOW:
            time.sleep(self.SLOW_SECONDS)  # a provider slow to answer, after charging
        if record.outcome == Outcome.DECLINED:
            raise PaymentDeclined(f"The card was declined (token {token!r}).")
        if record.outcome == Outcome.UNAVAILABLE:
            raise TransientPaymentError("The payment provider is unavailable; try again.")
        return Charge(id=f"ch_{record.id.hex}", amount=record.amount, currency=record.currency)

    def _outcome(self, token: str, attempt: int) -> str:
        from storefront.orders.models import FakeCharge

        Outcome = FakeCharge.Outcome
        if token in {self.SUCCESS, self.SLOW}:
            return Outcome.SUCCEEDED
        if token == self.TRANSIENT:
            return Outcome.SUCCEEDED if attempt > self.TRANSIENT_FAILURES else Outcome.UNAVAILABLE
        if token == self.ERROR:
            return Outcome.UNAVAILABLE
        return Outcome.DECLINED

    def refund(self, *, charge_id: str) -> Refund:
        from storefront.orders.models import FakeCharge

        with transaction.atomic():
            record = FakeCharge.objects.select_for_update().get(
                id=charge_id.removeprefix("ch_"), outcome=FakeCharge.Outcome.SUCCEEDED
            )
            if record.refunded_at is None:
                record.refunded_at = timezone.now()
                record.save(update_fields=["refunded_at", "updated_at"])
        return Refund(id=f"re_{record.id.hex}", charge_id=charge_id)
