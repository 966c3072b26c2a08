"""Notifications in the admin: read-only, for support ("did the customer get told?")."""

from __future__ import annotations

from django.contrib import admin

from storefront.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["user__email", "kind"]
    date_hierarchy = "created_at"
    fields = ["id", "user", "kind", "payload", "created_at", "read_at"]
    readonly_fields = fields

    # Notifications are written by services (with their push); none by hand.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
