"""Notifications: what a user is told about (an order's status changed...).

A notification is stored first and pushed second: the row is the record a
client catches up from over REST (`?since=`), the WebSocket push is a
best-effort shortcut (see services.py and docs/api/realtime.md).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from storefront.core.models import BaseModel


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user) -> NotificationQuerySet:
        return self.filter(user=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def created_after(self, moment: datetime) -> NotificationQuerySet:
        """Strictly after `moment`: what a reconnecting client has not seen."""
        return self.filter(created_at__gt=moment)


class Notification(BaseModel):
    # No index of its own: the composite indexes below lead with user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    # Dotted event name ("order.status"); it is also the WebSocket message type.
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The feed: one user's notifications, newest first (cursor pagination).
            models.Index(
                fields=["user", "-created_at", "-id"], name="notification_user_created_idx"
            ),
            # The unread badge and ?unread=true: most rows are read, so index only the rest.
            models.Index(
                fields=["user", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_user_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
