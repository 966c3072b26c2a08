"""Account writes."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from storefront.accounts.models import User
from storefront.accounts.roles import CUSTOMER


@transaction.atomic
def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a customer account. The caller has validated the password."""
    user = User.objects.create_user(
        email=email, password=password, first_name=first_name, last_name=last_name
    )
    group, _ = Group.objects.get_or_create(name=CUSTOMER)
    user.groups.add(group)
    return user


@transaction.atomic
def user_update_names(
    *, user: User, first_name: str | None = None, last_name: str | None = None
) -> User:
    """Change a user's names.

    Review lists show authors' first names and are cached: a change of name
    makes the catalog's cached reads stale (after commit) like any catalog write.
    """
    from storefront.catalog.cache import invalidate_catalog

    changed = []
    if first_name is not None and first_name != user.first_name:
        user.first_name = first_name
        changed.append("first_name")
    if last_name is not None and last_name != user.last_name:
        user.last_name = last_name
        changed.append("last_name")
    if changed:
        user.save(update_fields=[*changed, "updated_at"])
        if "first_name" in changed and user.reviews.exists():
            invalidate_catalog()
    return user
