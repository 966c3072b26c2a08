"""Order representations (output) and the order placement input."""

from __future__ import annotations

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
