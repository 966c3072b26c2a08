"""Roles are Django groups with a declared set of permissions.

`ROLE_PERMISSIONS` is the single source of truth; `sync_roles()` makes the
database match it (idempotent) and runs after every migrate. A domain app adds
its permissions here when it is created.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

CUSTOMER = "customer"
STAFF = "staff"

# "app_label.codename" strings.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    CUSTOMER: [],
    STAFF: [
        "accounts.view_user",
        *(
            f"catalog.{action}_{model}"
            for model in ("category", "product", "productimage", "review")
            for action in ("add", "change", "delete", "view")
        ),
        # Orders: read everything, change status through the admin actions
        # (never add or delete: orders are placed through the API).
        "orders.view_order",
        "orders.change_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_fakecharge",
    ],
}


def sync_roles() -> None:
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        query = Q(pk__in=[])
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            query |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(query))


def sync_roles_after_migrate(sender, **kwargs) -> None:
    if sender.label == "accounts" or sender.name.startswith("storefront."):
        sync_roles()
