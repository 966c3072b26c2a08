"""The user model, its manager, roles and the demo accounts."""

import json
import uuid

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import IntegrityError, transaction

from storefront.accounts.demo import demo_accounts_ensure
from storefront.accounts.models import User
from storefront.accounts.roles import CUSTOMER, ROLE_PERMISSIONS, STAFF, sync_roles
from storefront.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class TestUser:
    def test_has_a_uuid_key_and_logs_in_with_the_email(self):
        user = User.objects.create_user("ann@example.com", "correct horse battery 1")

        assert isinstance(user.pk, uuid.UUID)
        assert User.USERNAME_FIELD == "email"
        assert authenticate(email="ann@example.com", password="correct horse battery 1") == user

    def test_login_ignores_the_case_of_the_email(self):
        user = User.objects.create_user("ann@example.com", "correct horse battery 1")

        assert authenticate(email="ANN@Example.com", password="correct horse battery 1") == user

    def test_the_database_refuses_the_same_email_in_another_case(self):
        User.objects.create_user("a@x.io", "pw-irrelevant-here")

        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create_user("A@x.io", "pw-irrelevant-here")

    def test_the_manager_lowercases_the_domain_only(self):
        user = User.objects.create_user("Ann.Lee@EXAMPLE.COM")

        assert user.email == "Ann.Lee@example.com"
        assert not user.has_usable_password()

    def test_an_email_is_required(self):
        with pytest.raises(ValueError, match="e-mail"):
            User.objects.create_user("", "x")

    def test_create_user_makes_no_staff(self):
        user = User.objects.create_user("c@example.com", "x")

        assert not user.is_staff
        assert not user.is_superuser
        assert user.is_active
        assert not user.pending_verification  # staff-made accounts need no confirmation

    def test_create_superuser_forces_the_flags(self):
        admin = User.objects.create_superuser("root@example.com", "x", is_staff=False)

        assert admin.is_staff
        assert admin.is_superuser

    def test_names_and_string(self):
        user = UserFactory.build(email="ann@example.com", first_name="Ann", last_name="Lee")

        assert str(user) == "ann@example.com"
        assert user.get_full_name() == "Ann Lee"
        assert user.get_short_name() == "Ann"

    def test_clean_normalises_the_email(self):
        user = User(email="ann@EXAMPLE.com")

        user.clean()

        assert user.email == "ann@example.com"


def test_createsuperuser_noinput_uses_the_email(monkeypatch):
    # given the password in the environment, as in a deployment script
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long admin passphrase 1")

    call_command("createsuperuser", "--noinput", "--email", "boss@example.com", verbosity=0)

    boss = User.objects.get(email="boss@example.com")
    assert boss.is_superuser
    assert boss.is_staff
    assert boss.check_password("a long admin passphrase 1")


class TestRoles:
    def test_roles_exist_with_their_declared_permissions_after_migrate(self):
        for role, perms in ROLE_PERMISSIONS.items():
            group = Group.objects.get(name=role)
            granted = {
                f"{p.content_type.app_label}.{p.codename}"
                for p in group.permissions.select_related("content_type")
            }
            assert granted == set(perms), role

    def test_staff_may_manage_the_catalog_and_customers_have_no_permissions(self):
        staff = set(ROLE_PERMISSIONS[STAFF])

        assert {"catalog.add_product", "catalog.change_category", "accounts.view_user"} <= staff
        assert Group.objects.get(name=CUSTOMER).permissions.count() == 0

    def test_sync_is_idempotent_and_repairs_drift(self):
        # given a staff group someone edited by hand
        group = Group.objects.get(name=STAFF)
        group.permissions.clear()
        Group.objects.filter(name=CUSTOMER).delete()

        # when roles are synced twice
        sync_roles()
        sync_roles()

        # then the groups match the declaration again
        assert group.permissions.count() == len(ROLE_PERMISSIONS[STAFF])
        assert Group.objects.filter(name=CUSTOMER).count() == 1


class TestDemoAccounts:
    def test_creates_one_account_per_role_with_a_stored_password(self, tmp_path):
        file = tmp_path / "demo_accounts.json"

        accounts = demo_accounts_ensure(credentials_file=file)

        assert [a["role"] for a in accounts] == ["superuser", STAFF, CUSTOMER]
        assert json.loads(file.read_text()) == accounts
        assert file.stat().st_mode & 0o077 == 0
        for account in accounts:
            user = User.objects.get(email=account["email"])
            assert user.check_password(account["password"])
            assert user.is_active
            assert not user.pending_verification
        assert User.objects.get(email="admin@example.com").is_superuser
        staff = User.objects.get(email="staff@example.com")
        assert staff.is_staff
        assert staff.has_perm("catalog.change_product")

    def test_a_second_run_changes_nothing(self, tmp_path):
        file = tmp_path / "demo_accounts.json"
        first = demo_accounts_ensure(credentials_file=file)

        second = demo_accounts_ensure(credentials_file=file)

        assert second == first
        assert User.objects.count() == 3

    def test_a_lost_credentials_file_is_repaired_with_new_passwords(self, tmp_path):
        file = tmp_path / "demo_accounts.json"
        first = demo_accounts_ensure(credentials_file=file)
        file.unlink()

        again = demo_accounts_ensure(credentials_file=file)

        assert User.objects.count() == 3
        assert [a["email"] for a in again] == [a["email"] for a in first]
        for account in again:
            assert User.objects.get(email=account["email"]).check_password(account["password"])

    def test_a_password_changed_in_the_database_is_reset_to_a_working_one(self, tmp_path):
        file = tmp_path / "demo_accounts.json"
        demo_accounts_ensure(credentials_file=file)
        customer = User.objects.get(email="customer@example.com")
        customer.set_password("changed by someone else 1")
        customer.save()

        accounts = {a["email"]: a["password"] for a in demo_accounts_ensure(credentials_file=file)}

        customer.refresh_from_db()
        assert customer.check_password(accounts["customer@example.com"])
