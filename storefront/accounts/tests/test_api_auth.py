"""Tokens (rotation + blacklist) and logout. Registration: test_api_register.py."""

import pytest
from django.core import mail

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

    def test_an_unconfirmed_registration_cannot_log_in_and_looks_like_a_wrong_password(
        self, api_client, django_capture_on_commit_callbacks
    ):
        # given an account registered through the API, its address not confirmed
        with django_capture_on_commit_callbacks(execute=True):
            api_client.post(REGISTER, {"email": "new@example.com", "password": DEFAULT_PASSWORD})
        assert len(mail.outbox) == 1
        active = UserFactory()

        # when it logs in with the right password, and someone else with a wrong one
        unconfirmed = api_client.post(
            TOKEN, {"email": "new@example.com", "password": DEFAULT_PASSWORD}
        )
        wrong = api_client.post(TOKEN, {"email": active.email, "password": "wrong pass 123"})

        # then both get the same 401, apart from the request id
        first = assert_problem(unconfirmed, 401, "no_active_account")
        second = assert_problem(wrong, 401, "no_active_account")
        assert {**first, "request_id": ""} == {**second, "request_id": ""}
        assert unconfirmed["WWW-Authenticate"] == wrong["WWW-Authenticate"]

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
