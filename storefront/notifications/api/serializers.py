from __future__ import annotations

from rest_framework import serializers

from storefront.notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    """A notification as its owner sees it (the WebSocket message is a subset of it)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:notification-detail")
    read_url = serializers.HyperlinkedIdentityField(view_name="api:notification-read")
    kind = serializers.CharField(
        read_only=True,
        help_text='Dotted event name, e.g. "order.status"; the WebSocket message type.',
    )
    payload = serializers.DictField(
        read_only=True, help_text="Event data; its keys depend on `kind` (docs/api/realtime.md)."
    )
    read_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it was first marked read; null if unread."
    )

    class Meta:
        model = Notification
        fields = ["id", "url", "read_url", "kind", "payload", "created_at", "read_at"]
        read_only_fields = fields


class ReadAllResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many notifications were unread until now.")
