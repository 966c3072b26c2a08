"""Orders in the admin: read-only where money is concerned.

Totals, prices and lines cannot be edited; the status changes only through
the actions below, which call the same services as the API (row lock, status
machine, stock, refunds, audit event with the staff member as actor).
"""

from __future__ import annotations

from django.contrib import admin, messages

from storefront.core.exceptions import DomainError
from storefront.orders import services
from storefront.orders.models import FakeCharge, Order, OrderEvent, OrderLine


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = ["position", "sku", "name", "unit_price", "quantity", "line_total", "product_id"]
    readonly_fields = fields


class OrderEventInline(_ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor", "task_id", "note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "status", "total", "currency", "created_at", "paid_at"]
    list_filter = ["status", "currency", "created_at"]
    list_select_related = ["user"]
    search_fields = ["=id", "user__email", "charge_id"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["cancel_orders", "fulfil_orders"]
    readonly_fields = [
        "id",
        "user",
        "status",
        "total",
        "currency",
        "shipping_name",
        "shipping_line1",
        "shipping_line2",
        "shipping_city",
        "shipping_postal_code",
        "shipping_country",
        "charge_id",
        "refund_id",
        "created_at",
        "updated_at",
        "paid_at",
        "failed_at",
        "cancelled_at",
        "fulfilled_at",
        "confirmation_sent_at",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request) -> bool:
        return False  # orders are placed through the API (stock, prices, payment)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # financial records: cancel instead

    def _apply(self, request, queryset, action, verb: str) -> None:
        done, failed = 0, []
        for order in queryset:
            try:
                action(order_id=order.pk, by=request.user)
                done += 1
            except DomainError as exc:
                failed.append(f"{order.pk}: {exc.detail}")
        if done:
            self.message_user(request, f"{done} order(s) {verb}.", messages.SUCCESS)
        for message in failed:
            self.message_user(request, message, messages.ERROR)

    @admin.action(
        permissions=["change"],
        description="Cancel the selected orders (releases stock, refunds paid ones)",
    )
    def cancel_orders(self, request, queryset) -> None:
        self._apply(request, queryset, services.order_cancel, "cancelled")

    @admin.action(permissions=["change"], description="Mark the selected paid orders fulfilled")
    def fulfil_orders(self, request, queryset) -> None:
        self._apply(request, queryset, services.order_fulfil, "fulfilled")


@admin.register(FakeCharge)
class FakeChargeAdmin(admin.ModelAdmin):
    """The fake gateway's ledger, to see what development payments did."""

    list_display = ["idempotency_key", "token", "amount", "currency", "outcome", "attempts"]
    list_filter = ["outcome"]
    search_fields = ["=idempotency_key"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
