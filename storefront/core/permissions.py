"""Permission classes. Every view names its own; the default denies everyone."""

from __future__ import annotations

from rest_framework import permissions


class DenyAll(permissions.BasePermission):
    """The project default: a view that forgets to declare permissions is closed."""

    message = "This endpoint declares no permissions and is closed."

    def has_permission(self, request, view) -> bool:
        return False


class ReadOnly(permissions.BasePermission):
    """Safe methods (GET, HEAD, OPTIONS) for anyone."""

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS


class StaffModelPermissions(permissions.DjangoModelPermissions):
    """Writes need the model permission, which the staff role grants.

    Reads are left to another class (usually ReadOnly, OR-ed with this one).
    """

    authenticated_users_only = True


class IsStaff(permissions.BasePermission):
    """Members of the staff role (Django's is_staff flag)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
