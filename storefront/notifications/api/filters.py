from __future__ import annotations

import django_filters

from storefront.core.filters import UTCIsoDateTimeFilter
from storefront.notifications.models import Notification


class NotificationFilter(django_filters.FilterSet):
    # A choice, not BooleanFilter: that one silently ignores "unread=maybe".
    unread = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_unread",
        label="true: only unread notifications; false: only read ones.",
    )
    since = UTCIsoDateTimeFilter(
        method="filter_since",
        label=(
            "ISO 8601 timestamp (e.g. 2026-05-01T12:00:00Z; percent-encode a '+' offset): "
            "only notifications created strictly after it. A reconnecting client passes the "
            "created_at of the last message it received, minus a few seconds of slack, and "
            "skips ids it already has (docs/api/realtime.md explains why)."
        ),
    )

    class Meta:
        model = Notification
        fields = ["unread", "since"]

    def filter_unread(self, queryset, name, value):
        return queryset.unread() if value == "true" else queryset.filter(read_at__isnull=False)

    def filter_since(self, queryset, name, value):
        return queryset.created_after(value)
