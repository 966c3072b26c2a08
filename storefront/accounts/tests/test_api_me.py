"""GET and PATCH /auth/me/: your own account, by token or session."""

from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"


def _bearer(client, token) -> None:
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_an_anonymous_client_is_told_to_authenticate(api_client):
    response = api_client.get(ME)

    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_valid_access_token_shows_the_account(api_client):
    user = UserFactory(first_name="Ann", last_name="Lee")
    _bearer(api_client, AccessToken.for_user(user))

    response = api_client.get(ME)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "id": str(user.pk),
        "url": "http://testserver/api/v1/auth/me/",
        "email": user.email,
        "first_name": "Ann",
        "last_name": "Lee",
        "is_staff": False,
        "roles": ["customer"],
        "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
    }


def test_staff_see_their_role(api_client):
    api_client.force_authenticate(StaffFactory())

    body = api_client.get(ME).json()

    assert body["is_staff"] is True
    assert body["roles"] == ["staff"]


def test_an_expired_token_is_rejected(api_client):
    token = AccessToken.for_user(UserFactory())
    token.set_exp(lifetime=-timedelta(seconds=1))
    _bearer(api_client, token)

    response = api_client.get(ME)

    assert_problem(response, 401, "token_not_valid")
    assert "WWW-Authenticate" in response


def test_a_tampered_token_is_rejected(api_client):
    # given a token whose payload was edited (another user id) but not re-signed
    header, _payload, signature = str(AccessToken.for_user(UserFactory())).split(".")
    forged = AccessToken.for_user(UserFactory())
    _bearer(api_client, f"{header}.{str(forged).split('.')[1]}.{signature}")

    assert_problem(api_client.get(ME), 401, "token_not_valid")


def test_a_token_of_a_deactivated_user_is_rejected(api_client):
    user = UserFactory()
    token = AccessToken.for_user(user)
    user.is_active = False
    user.save()
    _bearer(api_client, token)

    assert_problem(api_client.get(ME), 401, "user_inactive")


def test_a_token_of_a_deleted_user_is_rejected(api_client):
    user = UserFactory()
    token = AccessToken.for_user(user)
    user.delete()
    _bearer(api_client, token)

    assert_problem(api_client.get(ME), 401, "user_not_found")


def test_a_session_works_too(api_client):
    user = UserFactory()
    api_client.force_login(user)

    response = api_client.get(ME)

    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_patch_changes_the_names(api_client):
    user = UserFactory(first_name="Ann")
    api_client.force_authenticate(user)

    response = api_client.patch(ME, {"first_name": "Anne", "last_name": "Leigh"}, format="json")

    assert response.status_code == 200
    assert response.json()["first_name"] == "Anne"
    assert response.json()["last_name"] == "Leigh"
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("Anne", "Leigh")


def test_patch_cannot_change_email_or_privileges(api_client):
    # given a customer
    user = UserFactory(email="ann@example.com")
    api_client.force_authenticate(user)

    # when they try to change their address and make themselves staff
    response = api_client.patch(
        ME,
        {"email": "boss@example.com", "is_staff": True, "is_superuser": True, "roles": ["staff"]},
        format="json",
    )

    # then nothing of that changes
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email == "ann@example.com"
    assert not user.is_staff
    assert not user.is_superuser
    assert response.json()["roles"] == ["customer"]


def test_patch_validates_the_names(api_client):
    api_client.force_authenticate(UserFactory())

    response = api_client.patch(ME, {"first_name": "x" * 151}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert body["errors"]["first_name"][0]["code"] == "max_length"


def test_patch_without_authentication_is_a_401(api_client):
    assert_problem(api_client.patch(ME, {"first_name": "x"}, format="json"), 401)


@pytest.mark.parametrize("method", ["put", "delete", "post"])
def test_other_methods_are_not_allowed(api_client, method):
    api_client.force_authenticate(UserFactory())

    assert_problem(getattr(api_client, method)(ME), 405, "method_not_allowed")


def test_reading_me_takes_a_fixed_number_of_queries(api_client, django_assert_num_queries):
    user = StaffFactory(roles=["staff", "customer"])
    _bearer(api_client, AccessToken.for_user(user))

    # the token's user, then the account with its roles prefetched
    with django_assert_num_queries(3):
        assert api_client.get(ME).status_code == 200
