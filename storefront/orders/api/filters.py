"""Order list filters (staff use them across customers; customers within theirs)."""

from __future__ import annotations

import uuid

import django_filters

from storefront.core.filters import UTCIsoDateTimeFilter
from storefront.orders.models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    user = django_filters.CharFilter(
        method="filter_user", label="The customer: a user id or an e-mail address."
    )
    created_after = UTCIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Placed at or after (ISO 8601)."
    )
    created_before = UTCIsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label="Placed before (ISO 8601)."
    )

    class Meta:
        model = Order
        fields = ["status", "user", "created_after", "created_before"]

    def filter_user(self, queryset, name: str, value: str):
        try:
            return queryset.filter(user_id=uuid.UUID(value))
        except ValueError:
            return queryset.filter(user__email__iexact=value.strip())
