"""Orders API: place, list, read, cancel and fulfil orders.

Customers see and act on their own orders only: another customer's order is a
404, never a 403. Staff see every order and fulfil paid ones.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from storefront.core.permissions import IsStaff
from storefront.orders import services
from storefront.orders.api.filters import OrderFilter
from storefront.orders.api.serializers import OrderCreateSerializer, OrderSerializer
from storefront.orders.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from storefront.orders.models import Order

TAGS = ["orders"]

_IDEMPOTENCY_NOTE = " Send an `Idempotency-Key` header to make retries safe (see the parameter)."


class _OrderQuerysetMixin:
    serializer_class = OrderSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Order.objects.none()
        return Order.objects.visible_to(self.request.user).with_lines()

    def _render(self, order: Order, status_code: int = status.HTTP_200_OK, **kwargs) -> Response:
        order = self.get_queryset().get(pk=order.pk)  # fresh, with its lines
        data = OrderSerializer(order, context=self.get_serializer_context()).data
        return Response(data, status=status_code, **kwargs)


class OrderListCreateView(_OrderQuerysetMixin, generics.ListCreateAPIView):
    permission_classes = [IsAuthenticated]
    filterset_class = OrderFilter

    @property
    def extra_error_codes(self) -> tuple[int, ...]:
        # Read by the schema per operation: only placing an order conflicts.
        return (409, 422) if self.request.method == "POST" else ()

    def get_serializer_class(self):
        if self.request.method == "POST":
            return OrderCreateSerializer
        return OrderSerializer

    @extend_schema(
        summary="List orders",
        description=(
            "Your orders, newest first, with their lines. Staff see every customer's orders "
            "and may filter by `user` (id or e-mail). Filters: `status`, `created_after`, "
            "`created_before` (ISO 8601)."
        ),
        responses={200: OrderSerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Place an order",
        description=(
            "Reserves the stock of every item and records a pending order; prices and totals "
            "are the catalog's at this moment (never the client's). Payment runs in the "
            "background with `payment_token`: the order becomes `paid` (a confirmation e-mail "
            "is sent) or `failed` (stock released); unpaid orders are cancelled after "
            "ORDER_PAYMENT_TIMEOUT_MINUTES. Items: 1 to 50 distinct active products, "
            "quantity 1 to 100 each, all in one currency. Errors: 409 `out_of_stock` "
            "(naming the product), 409 `price_changing` (retry), 422 `product_unavailable`, "
            "`currency_mismatch`, "
            "`idempotency_key_reused`. Answers 201 with the order and its Location."
            + _IDEMPOTENCY_NOTE
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=OrderCreateSerializer,
        responses={201: OrderSerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        return idempotent(request, scope="orders.create", handler=lambda: self._create(request))

    def _create(self, request) -> Response:
        serializer = OrderCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        order = services.order_create(user=request.user, **serializer.validated_data)
        # The order as this request committed it (pending), lines included: no
        # need to read it back. (A re-read could even catch the worker's payment
        # made in between, or, with eager tasks, always.)
        data = OrderSerializer(order, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})


class OrderDetailView(_OrderQuerysetMixin, generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Read an order",
        description="One of your orders (staff: any order), with its lines and links.",
        responses={200: OrderSerializer},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderCancelView(_OrderQuerysetMixin, generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    extra_error_codes = (409, 422, 503)

    @extend_schema(
        summary="Cancel an order",
        description=(
            "Cancels a pending or paid order (yours; staff: any) and releases its stock; a "
            "paid order is refunded first (503 `payment_unavailable` if the provider cannot "
            "refund now: the order stays paid). Any other status is a 409 "
            "`invalid_transition`. No request body." + _IDEMPOTENCY_NOTE
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=None,
        responses={200: OrderSerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        order = self.get_object()  # 404 for someone else's order, before any key is stored
        return idempotent(
            request, scope="orders.cancel", handler=lambda: self._cancel(request, order)
        )

    def _cancel(self, request, order: Order) -> Response:
        who = "staff" if request.user.is_staff and order.user_id != request.user.pk else "customer"
        order = services.order_cancel(order_id=order.pk, by=request.user, note=f"by {who}")
        return self._render(order)


class OrderFulfilView(_OrderQuerysetMixin, generics.GenericAPIView):
    permission_classes = [IsStaff]
    extra_error_codes = (409,)

    @extend_schema(
        summary="Fulfil an order (staff)",
        description=(
            "Marks a paid order as shipped. Any other status is a 409 `invalid_transition`. "
            "No request body."
        ),
        request=None,
        responses={200: OrderSerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        order = services.order_fulfil(order_id=self.get_object().pk, by=request.user)
        return self._render(order)
