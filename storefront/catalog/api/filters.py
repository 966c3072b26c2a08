"""Product filters and the whitelisted ordering.

Every filter validates its input: a wrong type, an out-of-range number, an
unknown ordering or an over-long string is a 400 problem, never a 500 and never
silently ignored.
"""

from __future__ import annotations

from decimal import Decimal

import django_filters
from django import forms
from django.db.models import F
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from storefront.catalog.models import Product, ProductQuerySet
from storefront.catalog.search import SEARCH_MAX_LENGTH

PRICE_LIMIT = Decimal("9999999999.99")


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no); anything else is an error, not "no filter"."""

    TRUE = frozenset({"true", "1", "yes"})
    FALSE = frozenset({"false", "0", "no"})

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(
        method="filter_category",
        max_length=100,
        help_text="A category slug: products of that category and of all its descendants.",
    )
    min_price = django_filters.NumberFilter(
        field_name="price",
        lookup_expr="gte",
        min_value=0,
        max_value=PRICE_LIMIT,
        help_text="Price at least this much.",
    )
    max_price = django_filters.NumberFilter(
        field_name="price",
        lookup_expr="lte",
        min_value=0,
        max_value=PRICE_LIMIT,
        help_text="Price at most this much.",
    )
    in_stock = StrictBooleanFilter(
        method="filter_in_stock", help_text="true: stock above 0; false: out of stock."
    )
    is_featured = StrictBooleanFilter(field_name="is_featured", help_text="Featured or not.")
    rating_min = django_filters.NumberFilter(
        field_name="rating_avg",
        lookup_expr="gte",
        min_value=0,
        max_value=5,
        help_text="Average rating at least this (1 to 5); unrated products are excluded.",
    )
    sku = django_filters.CharFilter(field_name="sku", max_length=64, help_text="Exact SKU.")
    slug = django_filters.CharFilter(field_name="slug", max_length=255, help_text="Exact slug.")
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=SEARCH_MAX_LENGTH,
        help_text="Full-text search in name (weighted higher) and description, with "
        'web search syntax ("exact phrase", or, -excluded) and typo tolerance on the '
        "name. Results are ranked best first unless `ordering` is given.",
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_category(self, queryset: ProductQuerySet, name: str, value: str):
        return queryset.in_category_tree(value)

    def filter_in_stock(self, queryset: ProductQuerySet, name: str, value: bool):
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock=0)

    def filter_search(self, queryset: ProductQuerySet, name: str, value: str):
        return queryset.search(value)


# public value -> order_by() arguments; every one ends with the id as a tie-breaker
# so that pages never overlap or skip rows.
PRODUCT_ORDERINGS = {
    "price": ("price", "id"),
    "-price": ("-price", "-id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "created_at": ("created_at", "id"),
    "-created_at": ("-created_at", "-id"),
    "rating": (F("rating_avg").asc(nulls_last=True), "id"),
    "-rating": (F("rating_avg").desc(nulls_last=True), "-id"),
}


class ProductOrderingFilter(BaseFilterBackend):
    """?ordering=<one of the view's `ordering_choices`>; anything else is a 400.

    Without it the queryset's order stands (search rank, or newest first).
    """

    param = "ordering"

    def _choices(self, view) -> tuple[str, ...]:
        return tuple(getattr(view, "ordering_choices", PRODUCT_ORDERINGS))

    def _requested(self, request, view) -> str | None:
        value = request.query_params.get(self.param)
        if value in (None, ""):
            return None
        choices = self._choices(view)
        if value not in choices:
            raise ValidationError(
                {self.param: [f"Unknown ordering. Use one of: {', '.join(choices)}."]},
                code="invalid_ordering",
            )
        return value

    def filter_queryset(self, request, queryset, view):
        value = self._requested(request, view)
        return queryset if value is None else queryset.order_by(*PRODUCT_ORDERINGS[value])

    def get_ordering(self, request, queryset, view):
        """Read by cursor pagination, whose position needs plain field names."""
        value = self._requested(request, view)
        return None if value is None else PRODUCT_ORDERINGS[value]

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.param,
                "required": False,
                "in": "query",
                "description": "Sort order; a leading '-' sorts descending. Unrated "
                "products come last with either rating order. Default: newest first "
                "(or best match first with `search`).",
                "schema": {"type": "string", "enum": list(self._choices(view))},
            }
        ]
