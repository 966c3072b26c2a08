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
