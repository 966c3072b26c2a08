"""Order representations (output) and the order placement input."""

from __future__ import annotations

import functools
from typing import Any
from uuid import UUID

from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from storefront.orders.countries import is_country_code
from storefront.orders.models import MAX_LINE_QUANTITY, MAX_LINES, Order, OrderLine
from storefront.orders.services import OrderItem


class ShippingAddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(
        min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. DE."
    )

    def validate_country(self, value: str) -> str:
        value = value.upper()
        if not is_country_code(value):
            raise serializers.ValidationError(
                "Not an ISO 3166-1 alpha-2 country code.", code="invalid_country"
            )
        return value


class OrderItemInputSerializer(serializers.Serializer):
    product = serializers.UUIDField(help_text="The product's id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class OrderCreateSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=OrderItemInputSerializer(), min_length=1, max_length=MAX_LINES
    )
    shipping_address = ShippingAddressSerializer()
    payment_token = serializers.CharField(
        max_length=255,
        help_text="The payment provider's token for the customer's payment method.",
    )

    def validate_items(self, items: list[dict]) -> list[OrderItem]:
        seen: set = set()
        for item in items:
            if item["product"] in seen:
                raise serializers.ValidationError(
                    f"Product {item['product']} appears more than once; "
                    "use one item with the total quantity.",
                    code="duplicate_product",
                )
            seen.add(item["product"])
        return [OrderItem(product_id=item["product"], quantity=item["quantity"]) for item in items]


class OrderLineSerializer(serializers.ModelSerializer):
    product = serializers.UUIDField(
        source="product_id", allow_null=True, help_text="Null once the product is deleted."
    )

    class Meta:
        model = OrderLine
        fields = ["id", "product", "sku", "name", "unit_price", "quantity", "line_total"]
        read_only_fields = fields


class OrderLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    cancel = serializers.URLField(
        required=False, help_text="Present while you may cancel the order."
    )
    fulfil = serializers.URLField(
        required=False, help_text="Present for staff while the order is paid."
    )


class OrderSerializer(serializers.ModelSerializer):
    """An order with its lines; money as strings with the currency."""

    url = serializers.HyperlinkedIdentityField(view_name="api:order-detail")
    user = serializers.UUIDField(source="user_id")
    lines = OrderLineSerializer(many=True)
    shipping_address = ShippingAddressSerializer()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "url",
            "status",
            "user",
            "lines",
            "total",
            "currency",
            "shipping_address",
            "created_at",
            "updated_at",
            "paid_at",
            "cancelled_at",
            "fulfilled_at",
            "failed_at",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(OrderLinksSerializer)
    def get_links(self, order: Order) -> dict[str, str]:
        request = self.context.get("request")
        kwargs = {"pk": order.pk}
        links = {"self": reverse("api:order-detail", kwargs=kwargs, request=request)}
        user = getattr(request, "user", None)
        if order.is_cancellable:
            links["cancel"] = reverse("api:order-cancel", kwargs=kwargs, request=request)
        if order.is_fulfillable and user is not None and user.is_staff:
            links["fulfil"] = reverse("api:order-fulfil", kwargs=kwargs, request=request)
        return links

    def to_representation(self, order: Order) -> dict[str, Any]:
        """The declared fields' output, written out: DRF's generic loop (the
        fields rebuilt from the model, a nested serializer per line and for the
        address) was two thirds of placing an order's serialisation time
        (docs/performance.md, "Orders"). The declared fields stay the contract
        (the schema is built from them); test_serializers.py holds this to
        `super().to_representation`, key order included. Without a request, or
        with a format suffix, the generic path runs."""
        links = self._links
        if links is None:
            return super().to_representation(order)
        value = _value_fields()
        line_value = _line_value_fields()
        date = value["created_at"].to_representation
        detail = links.detail(order.pk)
        order_links = {"self": detail}
        if order.is_cancellable:
            order_links["cancel"] = links.cancel(order.pk)
        if order.is_fulfillable and links.is_staff:
            order_links["fulfil"] = links.fulfil(order.pk)
        return {
            "id": str(order.id),
            "url": detail,
            "status": str(order.status),
            "user": str(order.user_id),
            "lines": [
                {
                    "id": str(line.id),
                    "product": None if line.product_id is None else str(line.product_id),
                    "sku": str(line.sku),
                    "name": str(line.name),
                    "unit_price": line_value["unit_price"].to_representation(line.unit_price),
                    "quantity": int(line.quantity),
                    "line_total": line_value["line_total"].to_representation(line.line_total),
                }
                for line in order.lines.all()
            ],
            "total": value["total"].to_representation(order.total),
            "currency": str(order.currency),
            "shipping_address": {
                name: str(address_value) for name, address_value in order.shipping_address.items()
            },
            "created_at": date(order.created_at),
            "updated_at": date(order.updated_at),
            "paid_at": date(order.paid_at) if order.paid_at else None,
            "cancelled_at": date(order.cancelled_at) if order.cancelled_at else None,
            "fulfilled_at": date(order.fulfilled_at) if order.fulfilled_at else None,
            "failed_at": date(order.failed_at) if order.failed_at else None,
            "links": order_links,
        }

    @cached_property
    def _links(self) -> _OrderLinks | None:
        request = self.context.get("request")
        if request is None or self.context.get("format"):
            return None
        return _OrderLinks(request)


@functools.cache
def _value_fields() -> dict[str, serializers.Field]:
    """DRF's own fields for the values whose format DRF decides (decimals,
    times), built once: a serializer's `fields` rebuilds every field from the
    model on each instance."""
    fields = OrderSerializer().fields
    return {name: fields[name] for name in ("total", "created_at")}


@functools.cache
def _line_value_fields() -> dict[str, serializers.Field]:
    fields = OrderLineSerializer().fields
    return {name: fields[name] for name in ("unit_price", "line_total")}


class _OrderLinks:
    """A request's absolute, versioned order URLs, each kind reversed once.

    `reverse()` with a placeholder id gives a template an order's id (a UUID,
    nothing to quote) is put into; a page of orders reverses each kind once."""

    _ID = UUID(int=0)

    def __init__(self, request) -> None:
        self.request = request
        self._templates: dict[str, tuple[str, str]] = {}
        user = getattr(request, "user", None)
        self.is_staff = user is not None and user.is_staff

    def _url(self, view_name: str, pk: UUID) -> str:
        template = self._templates.get(view_name)
        if template is None:
            url = reverse(view_name, kwargs={"pk": self._ID}, request=self.request)
            head, tail = url.split(str(self._ID))
            template = self._templates[view_name] = (head, tail)
        head, tail = template
        return f"{head}{pk}{tail}"

    def detail(self, pk: UUID) -> str:
        return self._url("api:order-detail", pk)

    def cancel(self, pk: UUID) -> str:
        return self._url("api:order-cancel", pk)

    def fulfil(self, pk: UUID) -> str:
        return self._url("api:order-fulfil", pk)
