"""Factories for accounts: customers and staff, ready to log in.

user = UserFactory()                      # customer role, DEFAULT_PASSWORD
user = UserFactory(password="other pw")   # a chosen password
user = UserFactory(roles=[])              # no role at all
staff = StaffFactory()                    # is_staff + staff role (catalog perms)
"""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from storefront.accounts.models import User
from storefront.accounts.roles import CUSTOMER, STAFF

# Strong enough for every password validator; tests log in with it.
DEFAULT_PASSWORD = "correct horse battery staple 9"


def _roles(default: tuple[str, ...]):
    """A post-generation hook putting the user in `roles=[...]` (else `default`)."""

    def hook(user: User, create: bool, extracted: list[str] | None, **kwargs) -> None:
        if not create:
            return
        names = default if extracted is None else extracted
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])

    return factory.PostGeneration(hook)


class UserFactory(factory.django.DjangoModelFactory):
    """A customer (member of the customer role) with DEFAULT_PASSWORD."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_active = True

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs) -> None:
        self.set_password(DEFAULT_PASSWORD if extracted is None else extracted)
        if create:
            self.save(update_fields=["password"])

    roles = _roles((CUSTOMER,))


class StaffFactory(UserFactory):
    """A staff member: is_staff and in the staff role (with its permissions)."""

    email = factory.Sequence(lambda n: f"staff{n}@example.com")
    is_staff = True
    roles = _roles((STAFF,))
