"""Catalog permissions: public reads, staff writes, reviews owned by their authors."""

from __future__ import annotations

from rest_framework import permissions

from storefront.core.permissions import ReadOnly, StaffModelPermissions

# Anyone reads; writes need the model permission of the staff role.
ReadOrStaffWrite = ReadOnly | StaffModelPermissions


class CanChangeProduct(permissions.BasePermission):
    """Feature/unfeature: a change of the product (catalog.change_product)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm("catalog.change_product"))


class ReviewPermission(permissions.BasePermission):
    """Reads for anyone; writing needs an account; an existing review may be
    changed by its author only, and deleted by its author or by staff."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, review) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if review.author_id == request.user.pk:
            return True
        return request.method == "DELETE" and request.user.has_perm("catalog.delete_review")
