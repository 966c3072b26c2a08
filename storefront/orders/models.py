"""Orders: what a customer bought, at which price, and what happened since.

The status machine lives here, in one table (`Order.TRANSITIONS`); every status
change goes through `services.order_transition()`, which checks it under a row
lock and writes an `OrderEvent` (the audit trail).

Lines snapshot sku, name and unit price at the time of purchase, so later
catalog edits never change what a customer was charged.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from storefront.core.models import BaseModel

# A line total is at most 100 x the largest catalog price (12 digits), an order
# has at most 50 lines: 16 digits hold any total without overflow.
TOTAL_MAX_DIGITS = 16
MONEY_DECIMAL_PLACES = 2
MAX_LINE_QUANTITY = 100
MAX_LINES = 50


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    PAID = "paid", "Paid"
    FAILED = "failed", "Payment failed"
    CANCELLED = "cancelled", "Cancelled"
    FULFILLED = "fulfilled", "Fulfilled"


class OrderQuerySet(models.QuerySet):
    def visible_to(self, user) -> OrderQuerySet:
        """Staff see every order, customers only their own (others' are 404)."""
        if user.is_staff:
            return self
        return self.filter(user=user)

    def with_lines(self) -> OrderQuerySet:
        """Lines in one extra query, whatever the number of orders."""
        return self.prefetch_related(
            models.Prefetch("lines", queryset=OrderLine.objects.order_by("position"))
        )

    def unpaid_since(self, cutoff) -> OrderQuerySet:
        return self.filter(status=OrderStatus.PENDING, created_at__lt=cutoff)

    def undispatched_since(self, cutoff) -> OrderQuerySet:
        """Pending orders created before `cutoff` whose payment task never reached the broker."""
        return self.unpaid_since(cutoff).filter(dispatched_at__isnull=True)

    def unconfirmed_paid_before(self, cutoff) -> OrderQuerySet:
        """Orders paid before `cutoff` whose confirmation e-mail has not gone out."""
        return self.filter(
            paid_at__lt=cutoff,
            confirmation_sent_at__isnull=True,
            status__in=[OrderStatus.PAID, OrderStatus.FULFILLED],
        ).order_by("paid_at")


class Order(BaseModel):
    Status = OrderStatus

    # The status machine: allowed targets from each status.
    TRANSITIONS: dict[str, frozenset[str]] = {
        OrderStatus.PENDING: frozenset(
            {OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.CANCELLED}
        ),
        OrderStatus.PAID: frozenset({OrderStatus.FULFILLED, OrderStatus.CANCELLED}),
        OrderStatus.FAILED: frozenset(),
        OrderStatus.CANCELLED: frozenset(),
        OrderStatus.FULFILLED: frozenset(),
    }
    # Entering these statuses gives the reserved stock back.
    RELEASES_STOCK = frozenset({OrderStatus.FAILED, OrderStatus.CANCELLED})
    # The timestamp field set when entering a status.
    TIMESTAMP_FIELDS = {
        OrderStatus.PAID: "paid_at",
        OrderStatus.FAILED: "failed_at",
        OrderStatus.CANCELLED: "cancelled_at",
        OrderStatus.FULFILLED: "fulfilled_at",
    }

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING, editable=False
    )
    currency = models.CharField(max_length=3, editable=False)
    total = models.DecimalField(
        max_digits=TOTAL_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, editable=False
    )

    shipping_name = models.CharField(max_length=200)
    shipping_line1 = models.CharField(max_length=200)
    shipping_line2 = models.CharField(max_length=200, blank=True)
    shipping_city = models.CharField(max_length=100)
    shipping_postal_code = models.CharField(max_length=20)
    shipping_country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code.")

    # An opaque token from the payment provider's client-side tokenisation;
    # never card data.
    payment_token = models.CharField(max_length=255, editable=False)
    charge_id = models.CharField(max_length=255, blank=True, editable=False)
    refund_id = models.CharField(max_length=255, blank=True, editable=False)

    paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    failed_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    fulfilled_at = models.DateTimeField(null=True, blank=True, editable=False)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When process_order was handed to the broker; null while it has not been
    # (broker down at commit time): the dispatch sweep sends it again.
    dispatched_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="orders_order_user_created"),
            # The expiry sweep: pending orders by age, a small partial index.
            models.Index(
                fields=["created_at"],
                name="orders_order_pending_created",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["status", "-created_at"], name="orders_order_status_created"),
            # The confirmation sweep: paid orders whose e-mail has not gone out,
            # a handful at any time.
            models.Index(
                fields=["paid_at"],
                name="orders_order_unconfirmed",
                condition=Q(confirmation_sent_at__isnull=True, paid_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="orders_order_status_valid"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="orders_order_total_gte_0"),
        ]

    def __str__(self) -> str:
        return f"Order {self.id} ({self.status})"

    def can_transition_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.status]

    @property
    def is_cancellable(self) -> bool:
        return self.can_transition_to(OrderStatus.CANCELLED)

    @property
    def is_fulfillable(self) -> bool:
        return self.can_transition_to(OrderStatus.FULFILLED)

    def cache_lines(self, lines: list[OrderLine]) -> None:
        """Make `order.lines.all()` answer `lines` (in position order) without a query.

        What `Order.objects.with_lines()` leaves on an order it reads, stored
        the way Django's prefetching stores it; for an order whose lines were
        just written, so they need not be read back.
        """
        queryset = self.lines.get_queryset()
        queryset._result_cache = sorted(lines, key=lambda line: line.position)
        queryset._prefetch_done = True
        if not hasattr(self, "_prefetched_objects_cache"):
            self._prefetched_objects_cache = {}
        self._prefetched_objects_cache[Order._meta.get_field("lines").cache_name] = queryset

    @property
    def shipping_address(self) -> dict[str, str]:
        return {
            "name": self.shipping_name,
            "line1": self.shipping_line1,
            "line2": self.shipping_line2,
            "city": self.shipping_city,
            "postal_code": self.shipping_postal_code,
            "country": self.shipping_country,
        }


class OrderLine(BaseModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # Kept for stock release and reporting; the snapshot below is what was sold.
    product = models.ForeignKey(
        "catalog.Product", null=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    position = models.PositiveSmallIntegerField(default=0)
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    unit_price = models.DecimalField(max_digits=12, decimal_places=MONEY_DECIMAL_PLACES)
    quantity = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LINE_QUANTITY)]
    )
    line_total = models.DecimalField(
        max_digits=TOTAL_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "product"], name="orders_line_one_per_product"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_LINE_QUANTITY),
                name="orders_line_quantity_range",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gt=0), name="orders_line_unit_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name} ({self.sku})"

    @staticmethod
    def total_for(unit_price: Decimal, quantity: int) -> Decimal:
        return (unit_price * quantity).quantize(Decimal("0.01"))


class OrderEvent(BaseModel):
    """The audit trail: one row per status change (created_at says when)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    # Null for the system (payment task, expiry sweep).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_events",
    )
    from_status = models.CharField(max_length=16, blank=True, choices=OrderStatus.choices)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    task_id = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="orders_event_order_created")]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class IdempotencyKey(models.Model):
    """A completed unsafe request, replayed when its key comes again.

    Generic (user, scope, key); see idempotency.py. A row is only ever committed
    together with the effects of its request and its stored response.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    scope = models.CharField(max_length=100, help_text="The endpoint, e.g. orders.create.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField(null=True)
    # Text, not jsonb: a replay must keep the original key order byte for byte.
    response_body = models.TextField(blank=True)
    response_headers = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "scope", "key"], name="orders_idempotency_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class FakeCharge(BaseModel):
    """The fake payment gateway's ledger (development and tests only).

    A table rather than process memory so that every worker process sees the
    same attempts and charges; the unique key proves a charge happens once.
    """

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded"
        DECLINED = "declined"
        UNAVAILABLE = "unavailable"

    idempotency_key = models.CharField(max_length=255, unique=True)
    token = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=TOTAL_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    currency = models.CharField(max_length=3)
    attempts = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    refunded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.idempotency_key}: {self.outcome} ({self.attempts} attempts)"
