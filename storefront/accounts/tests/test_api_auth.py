"""Registration, tokens (rotation + blacklist) and logout."""

from unittest import mock

import pytest
from django.contrib.auth.models import Group

from storefront.accounts.api.serializers import RegisterSerializer
from storefront.accounts.models import User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"


def _pair(client, email: str, password: str = DEFAULT_PASSWORD) -> dict:
    response = client.post(TOKEN, {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


class TestRegister:
    def test_creates_a_customer_and_returns_it(self, api_client):
        payload = {"email": "ann@example.com", "password": DEFAULT_PASSWORD, "first_name": "Ann"}

        response = api_client.post(REGISTER, payload, format="json")

        assert response.status_code == 201
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert body["email"] == "ann@example.com"
        assert body["first_name"] == "Ann"
        assert body["roles"] == ["customer"]
        assert body["url"] == "http://testserver/api/v1/auth/me/"
        assert "password" not in body
        user = User.objects.get(email="ann@example.com")
        assert user.check_password(DEFAULT_PASSWORD)
        assert not user.is_staff

    def test_the_new_account_can_log_in(self, api_client):
        api_client.post(REGISTER, {"email": "b@example.com", "password": DEFAULT_PASSWORD})

        assert _pair(api_client, "b@example.com")["access"]

    @pytest.mark.parametrize(
        "email", ["taken@example.com", "TAKEN@example.com", "Taken@Example.COM"]
    )
    def test_an_email_already_registered_in_any_case_is_refused(self, api_client, email):
        UserFactory(email="taken@example.com")

        response = api_client.post(REGISTER, {"email": email, "password": DEFAULT_PASSWORD})

        body = assert_problem(response, 400, "validation_error")
        assert body["errors"]["email"][0]["code"] == "unique"
        assert User.objects.filter(email__iexact=email).count() == 1

    def test_a_duplicate_caught_only_by_the_database_is_still_a_400(self, api_client):
        # given the serializer's check passing (as for two requests at once)
        UserFactory(email="race@example.com")
        with mock.patch.object(RegisterSerializer, "validate_email", lambda self, v: v):
            response = api_client.post(
                REGISTER, {"email": "RACE@example.com", "password": DEFAULT_PASSWORD}
            )

        # then the unique constraint's refusal is a 400, not a 500
        body = assert_problem(response, 400, "validation_error")
        assert body["errors"]["email"][0]["code"] == "unique"

    @pytest.mark.parametrize(
        ("password", "code"),
        [
            ("short1", "password_too_short"),
            ("password123", "password_too_common"),
            ("83649273619", "password_entirely_numeric"),
            ("annalee.example", "password_too_similar"),
        ],
    )
    def test_a_weak_password_is_refused_with_the_reason(self, api_client, password, code):
        payload = {"email": "annalee@example.com", "password": password}

        response = api_client.post(REGISTER, payload, format="json")

        body = assert_problem(response, 400, "validation_error")
        assert code in [e["code"] for e in body["errors"]["password"]]
        assert not User.objects.filter(email="annalee@example.com").exists()

    def test_missing_fields_are_named(self, api_client):
        body = assert_problem(api_client.post(REGISTER, {}, format="json"), 400)

        assert body["errors"]["email"][0]["code"] == "required"
        assert body["errors"]["password"][0]["code"] == "required"

    def test_a_malformed_email_is_refused(self, api_client):
        payload = {"email": "not-an-email", "password": DEFAULT_PASSWORD}

        response = api_client.post(REGISTER, payload, format="json")

        body = assert_problem(response, 400, "validation_error")
        assert body["errors"]["email"][0]["code"] == "invalid"

    def test_privilege_fields_in_the_payload_are_ignored(self, api_client):
        payload = {
            "email": "sneaky@example.com",
            "password": DEFAULT_PASSWORD,
            "is_staff": True,
            "is_superuser": True,
            "groups": ["staff"],
        }

        response = api_client.post(REGISTER, payload, format="json")

        assert response.status_code == 201
        user = User.objects.get(email="sneaky@example.com")
        assert not user.is_staff
        assert not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == ["customer"]

    def test_get_is_not_allowed(self, api_client):
        assert_problem(api_client.get(REGISTER), 405, "method_not_allowed")

    def test_the_customer_group_is_created_if_missing(self, api_client):
        Group.objects.filter(name="customer").delete()

        api_client.post(REGISTER, {"email": "c@example.com", "password": DEFAULT_PASSWORD})

        assert User.objects.get(email="c@example.com").groups.get().name == "customer"


class TestToken:
    def test_the_right_credentials_give_a_token_pair(self, api_client):
        user = UserFactory()

        pair = _pair(api_client, user.email)

        assert set(pair) == {"access", "refresh"}
        user.refresh_from_db()
        assert user.last_login is not None

    def test_the_email_is_case_insensitive(self, api_client):
        user = UserFactory(email="case@example.com")

        assert _pair(api_client, "CASE@example.com")["access"]
        assert user.email == "case@example.com"

    def test_wrong_password_and_unknown_email_are_indistinguishable(self, api_client):
        # given one real account
        user = UserFactory()

        # when someone tries a wrong password, and an address with no account
        wrong = api_client.post(TOKEN, {"email": user.email, "password": "wrong pass 123"})
        unknown = api_client.post(TOKEN, {"email": "nobody@example.com", "password": "x"})

        # then both answers say the same thing (no account enumeration)
        first = assert_problem(wrong, 401, "no_active_account")
        second = assert_problem(unknown, 401, "no_active_account")
        assert first["detail"] == second["detail"]
        assert wrong["WWW-Authenticate"] == unknown["WWW-Authenticate"]

    def test_an_inactive_user_cannot_log_in(self, api_client):
        user = UserFactory(is_active=False)

        response = api_client.post(TOKEN, {"email": user.email, "password": DEFAULT_PASSWORD})

        assert_problem(response, 401, "no_active_account")

    def test_missing_credentials_are_a_400(self, api_client):
        body = assert_problem(api_client.post(TOKEN, {}, format="json"), 400, "validation_error")
        assert set(body["errors"]) == {"email", "password"}


class TestRefresh:
    def test_refresh_rotates_and_the_new_access_token_works(self, api_client):
        user = UserFactory()
        pair = _pair(api_client, user.email)

        response = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")

        assert response.status_code == 200
        fresh = response.json()
        assert fresh["refresh"] != pair["refresh"]
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
        assert api_client.get(ME).json()["email"] == user.email

    def test_reusing_a_rotated_refresh_token_is_rejected(self, api_client):
        pair = _pair(api_client, UserFactory().email)
        api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")

        response = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")

        assert_problem(response, 401, "token_not_valid")
        assert "WWW-Authenticate" in response

    def test_an_access_token_is_not_a_refresh_token(self, api_client):
        pair = _pair(api_client, UserFactory().email)

        response = api_client.post(REFRESH, {"refresh": pair["access"]}, format="json")

        assert_problem(response, 401, "token_not_valid")

    def test_garbage_is_rejected(self, api_client):
        assert_problem(api_client.post(REFRESH, {"refresh": "x.y.z"}), 401, "token_not_valid")


class TestLogout:
    def test_logout_revokes_the_refresh_token(self, api_client):
        # given a logged-in client
        pair = _pair(api_client, UserFactory().email)

        # when it logs out
        response = api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

        # then the refresh token no longer works
        assert response.status_code == 204
        assert response.content == b""
        again = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
        assert_problem(again, 401, "token_not_valid")

    def test_logging_out_twice_is_a_401(self, api_client):
        pair = _pair(api_client, UserFactory().email)
        api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

        response = api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

        assert_problem(response, 401, "token_not_valid")

    def test_an_invalid_token_is_a_401(self, api_client):
        response = api_client.post(LOGOUT, {"refresh": "garbage"}, format="json")

        assert_problem(response, 401, "token_not_valid")
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'

    def test_a_missing_token_is_a_400(self, api_client):
        body = assert_problem(api_client.post(LOGOUT, {}, format="json"), 400, "validation_error")
        assert body["errors"]["refresh"][0]["code"] == "required"
