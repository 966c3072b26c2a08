"""The factories other apps build on do what they promise."""

import pytest

from storefront.accounts.roles import CUSTOMER, STAFF
from storefront.accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_user_factory_makes_a_customer_who_can_log_in():
    user = UserFactory()

    assert user.check_password(DEFAULT_PASSWORD)
    assert [g.name for g in user.groups.all()] == [CUSTOMER]
    assert not user.is_staff


def test_staff_factory_makes_staff_with_catalog_permissions():
    staff = StaffFactory()

    assert staff.is_staff
    assert [g.name for g in staff.groups.all()] == [STAFF]
    assert staff.has_perm("catalog.change_product")


def test_factories_accept_a_password_and_roles():
    user = UserFactory(password="another strong pass 7", roles=[])

    assert user.check_password("another strong pass 7")
    assert user.groups.count() == 0
    assert UserFactory().email != UserFactory().email


def test_factory_accounts_are_active_with_no_confirmation_pending():
    # Verified registration concerns the API only: tests' accounts log in at once.
    for user in (UserFactory(), StaffFactory()):
        assert user.is_active
        assert not user.pending_verification
