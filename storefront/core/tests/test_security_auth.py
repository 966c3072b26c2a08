"""Login and registration: throttled per client address, and what they reveal.

* Both share the strict `auth` budget (THROTTLE_AUTH); the 429 is a problem
  with Retry-After; changing the e-mail or forging X-Forwarded-For does not
  reset the budget (NUM_PROXIES=0 trusts only the socket address).
* The token endpoint gives one answer for an unknown address, a wrong
  password and a deactivated account, and runs the password hasher for
  unknown addresses too (no timing difference to measure).
* Registration does say that an address is taken (400 `unique`): a known,
  accepted residual risk, bounded by the throttle (docs/security.md).
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"


@pytest.fixture
def auth_rate(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "1000/min", "auth": "3/min"},
    }


def test_login_attempts_past_the_budget_are_429_with_retry_after(api_client, auth_rate):
    for i in range(3):
        response = api_client.post(TOKEN, {"email": f"u{i}@example.com", "password": "x"})
        assert response.status_code == 401

    response = api_client.post(TOKEN, {"email": "another@example.com", "password": "x"})

    assert_problem(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_registration_past_the_budget_is_429(api_client, auth_rate):
    for i in range(3):
        payload = {"email": f"new{i}@example.com", "password": DEFAULT_PASSWORD}
        assert api_client.post(REGISTER, payload).status_code == 201

    response = api_client.post(
        REGISTER, {"email": "new9@example.com", "password": DEFAULT_PASSWORD}
    )

    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


def test_a_forged_x_forwarded_for_does_not_reset_the_budget(api_client, auth_rate):
    for i in range(3):
        api_client.post(
            TOKEN, {"email": "a@example.com", "password": "x"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}"
        )

    response = api_client.post(
        TOKEN, {"email": "a@example.com", "password": "x"}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )

    assert_problem(response, 429, "throttled")


def test_a_valid_login_is_throttled_too_once_the_budget_is_spent(api_client, auth_rate):
    user = UserFactory()
    for _ in range(3):
        api_client.post(TOKEN, {"email": user.email, "password": "wrong password"})

    response = api_client.post(TOKEN, {"email": user.email, "password": DEFAULT_PASSWORD})

    assert_problem(response, 429, "throttled")


def _without_request_id(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "request_id"}


def test_unknown_address_wrong_password_and_inactive_account_look_the_same(api_client):
    active = UserFactory()
    inactive = UserFactory(is_active=False)

    answers = [
        api_client.post(TOKEN, {"email": "nobody@example.com", "password": DEFAULT_PASSWORD}),
        api_client.post(TOKEN, {"email": active.email, "password": "wrong password 1"}),
        api_client.post(TOKEN, {"email": inactive.email, "password": DEFAULT_PASSWORD}),
    ]

    bodies = [_without_request_id(assert_problem(r, 401, "no_active_account")) for r in answers]
    assert bodies[0] == bodies[1] == bodies[2]
    assert len({r["WWW-Authenticate"] for r in answers}) == 1


def test_an_unknown_address_still_costs_a_password_hash(api_client):
    # Django's ModelBackend hashes the given password for unknown users, so the
    # answer takes as long as for a wrong password.
    hasher = type(get_hasher())
    with mock.patch.object(hasher, "encode", autospec=True, side_effect=hasher.encode) as encode:
        api_client.post(TOKEN, {"email": "nobody@example.com", "password": "some password"})
    assert encode.called


def test_registration_reveals_a_taken_address_residual_risk(api_client):
    """Documented residual risk (docs/security.md): the 400 says the address is
    taken. If this changes (neutral answer + e-mail), update the doc."""
    UserFactory(email="taken@example.com")

    response = api_client.post(
        REGISTER, {"email": "taken@example.com", "password": DEFAULT_PASSWORD}
    )

    body = assert_problem(response, 400, "validation_error")
    assert body["errors"]["email"][0]["code"] == "unique"


def test_registration_never_grants_privileges(api_client):
    payload = {
        "email": "climber@example.com",
        "password": DEFAULT_PASSWORD,
        "is_staff": True,
        "is_superuser": True,
        "roles": ["staff"],
        "groups": [1],
    }
    body = api_client.post(REGISTER, payload).json()
    assert body["is_staff"] is False
    assert body["roles"] == ["customer"]
