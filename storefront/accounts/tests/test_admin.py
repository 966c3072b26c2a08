"""The user admin renders for a superuser, with a bounded number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from storefront.accounts.models import User
from storefront.accounts.tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root@example.com", "x"))
    return client


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_changelist_add_and_change_pages_render(admin_client):
    user = UserFactory(first_name="Ann")

    changelist = admin_client.get("/admin/accounts/user/?q=ann")
    assert changelist.status_code == 200
    assert user.email in changelist.content.decode()
    assert admin_client.get("/admin/accounts/user/add/").status_code == 200
    change = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert change.status_code == 200
    assert user.email in change.content.decode()


def test_a_superuser_can_add_a_user_by_email(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "new@example.com",
            "password1": "a long new passphrase 5",
            "password2": "a long new passphrase 5",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    assert User.objects.get(email="new@example.com").check_password("a long new passphrase 5")


def test_the_changelist_query_count_does_not_grow_with_the_users(admin_client):
    # given a few users, then many more
    UserFactory.create_batch(2)
    few = _queries(admin_client, "/admin/accounts/user/")
    UserFactory.create_batch(15)
    StaffFactory.create_batch(3)

    # then listing them costs the same number of queries
    assert _queries(admin_client, "/admin/accounts/user/") == few


def test_the_change_page_query_count_does_not_grow_with_groups(admin_client):
    plain = UserFactory(roles=[])
    few = _queries(admin_client, f"/admin/accounts/user/{plain.pk}/change/")
    busy = StaffFactory(roles=["staff", "customer", "a", "b"])

    assert _queries(admin_client, f"/admin/accounts/user/{busy.pk}/change/") == few


def test_activating_an_account_pending_verification_asks_to_clear_the_flag(admin_client):
    # given an account registered through the API, not confirmed yet
    user = UserFactory(is_active=False, pending_verification=True)
    form = {"email": user.email, "first_name": "", "last_name": "", "pending_verification": "on"}
    url = f"/admin/accounts/user/{user.pk}/change/"

    # when staff tick "active" only, the form says why it cannot be saved
    response = admin_client.post(url, {**form, "is_active": "on"})

    assert response.status_code == 200
    assert "clear pending verification to activate it" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_active

    # and with the flag cleared, the account is activated
    del form["pending_verification"]
    assert admin_client.post(url, {**form, "is_active": "on"}).status_code == 302
    user.refresh_from_db()
    assert user.is_active
    assert not user.pending_verification
