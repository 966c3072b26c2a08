"""Login and registration: throttled per client address, and what they reveal.

* Both share the strict `auth` budget (THROTTLE_AUTH); the 429 is a problem
  with Retry-After; changing the e-mail or forging X-Forwarded-For does not
  reset the budget (NUM_PROXIES=0 trusts only the socket address).
* The token endpoint gives one answer for an unknown address, a wrong
  password and a deactivated account, and runs the password hasher for
  unknown addresses too (no timing difference to measure).
* Registration does not say whether an address is taken either: the same
  202, byte for byte, and the same password hash; the e-mail sent to the
  address is what differs (docs/security.md).
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher

from storefront.accounts.models import User
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
    quarter_past = 1_000_020.0 + 15  # 15 s into a minute window
    with mock.patch("storefront.core.throttling.time.time", return_value=quarter_past):
        for i in range(3):
            response = api_client.post(TOKEN, {"email": f"u{i}@example.com", "password": "x"})
            assert response.status_code == 401

        response = api_client.post(TOKEN, {"email": "another@example.com", "password": "x"})

    assert_problem(response, 429, "throttled")
    # 45 s left of this minute, then a third of the next (3 requests weigh 2 by then)
    assert response["Retry-After"] == "65"


def test_registration_past_the_budget_is_429(api_client, auth_rate):
    for i in range(3):
        payload = {"email": f"new{i}@example.com", "password": DEFAULT_PASSWORD}
        assert api_client.post(REGISTER, payload).status_code == 202

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


# Headers that differ between any two requests, whatever they ask.
_PER_REQUEST_HEADERS = {"X-Request-ID"}


def _headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in _PER_REQUEST_HEADERS}


def test_registration_does_not_reveal_whether_an_address_is_taken(api_client):
    # given an active account, an unconfirmed registration and a staff-deactivated account
    UserFactory(email="taken@example.com")
    api_client.post(REGISTER, {"email": "pending@example.com", "password": DEFAULT_PASSWORD})
    UserFactory(email="banned@example.com", is_active=False)

    # when each address, and a new one, is registered
    answers = [
        api_client.post(REGISTER, {"email": email, "password": DEFAULT_PASSWORD})
        for email in (
            "new@example.com",
            "taken@example.com",
            "TAKEN@example.com",
            "pending@example.com",
            "banned@example.com",
        )
    ]

    # then the answers are identical, byte for byte, apart from the request id
    assert {r.status_code for r in answers} == {202}
    assert len({r.content for r in answers}) == 1
    assert all(_headers(r) == _headers(answers[0]) for r in answers)


@pytest.mark.parametrize("taken", [False, True], ids=["new", "taken"])
def test_registration_costs_one_password_hash_whether_or_not_the_address_is_taken(
    api_client, taken
):
    if taken:
        UserFactory(email="ann@example.com")
    hasher = type(get_hasher())

    with mock.patch.object(hasher, "encode", autospec=True, side_effect=hasher.encode) as encode:
        response = api_client.post(
            REGISTER, {"email": "ann@example.com", "password": "some long password 5"}
        )

    assert response.status_code == 202
    assert encode.call_count == 1


def test_registration_never_grants_privileges(api_client):
    payload = {
        "email": "climber@example.com",
        "password": DEFAULT_PASSWORD,
        "is_staff": True,
        "is_superuser": True,
        "is_active": True,
        "pending_verification": False,
        "roles": ["staff"],
        "groups": [1],
    }
    assert api_client.post(REGISTER, payload).status_code == 202
    user = User.objects.get(email="climber@example.com")
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, False)
    assert user.pending_verification
    assert list(user.groups.values_list("name", flat=True)) == ["customer"]
