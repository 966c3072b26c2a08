"""The own notifications: list (catch-up after a reconnect), detail, mark read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from storefront.core.pagination import CursorPagination
from storefront.notifications import services
from storefront.notifications.api.filters import NotificationFilter
from storefront.notifications.api.serializers import (
    NotificationSerializer,
    ReadAllResultSerializer,
)
from storefront.notifications.models import Notification

TAGS = ["notifications"]


class OwnNotificationsMixin:
    """Every view sees the requesting user's notifications only (others' are 404)."""

    permission_classes = [IsAuthenticated]
    serializer_class = NotificationSerializer
    queryset = Notification.objects.all()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Notification.objects.none()
        return Notification.objects.for_user(self.request.user)


class NotificationListView(OwnNotificationsMixin, generics.ListAPIView):
    pagination_class = CursorPagination
    filterset_class = NotificationFilter

    @extend_schema(
        summary="Your notifications",
        description=(
            "Your notifications, newest first, cursor-paginated (follow `links.next`). "
            "`?unread=true` lists the unread ones; `?since=<created_at>` lists those created "
            "strictly after a moment, which is how a client catches up on what it missed "
            "while its WebSocket (`/ws/notifications/`, see docs/api/realtime.md) was closed."
        ),
        responses={200: NotificationSerializer(many=True)},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class NotificationDetailView(OwnNotificationsMixin, generics.RetrieveAPIView):
    @extend_schema(
        summary="One of your notifications",
        description="A notification of yours; anyone else's answers 404.",
        responses={200: NotificationSerializer},
        tags=TAGS,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class NotificationReadView(OwnNotificationsMixin, generics.GenericAPIView):
    @extend_schema(
        summary="Mark a notification read",
        description=(
            "Marks one of your notifications read and returns it. Idempotent: marking it "
            "again keeps the first `read_at`."
        ),
        request=None,
        responses={200: NotificationSerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        notification = services.notification_mark_read(notification=self.get_object())
        return Response(self.get_serializer(notification).data)


class NotificationReadAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Mark all your notifications read",
        description="Marks every unread notification of yours read; returns how many there were.",
        request=None,
        responses={200: ReadAllResultSerializer},
        tags=TAGS,
    )
    def post(self, request, *args, **kwargs):
        count = services.notifications_mark_all_read(user=request.user)
        return Response(ReadAllResultSerializer({"count": count}).data)
