"""JWT: every forged, stale or revoked token is refused, on REST and on the WebSocket.

REST answers 401 in our problem format (with WWW-Authenticate); the
notifications socket closes with 4401. Tokens are built by hand where the
library would refuse to build them (alg none, a foreign algorithm).
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.core.testing import assert_problem
from storefront.notifications.consumers import CLOSE_UNAUTHORIZED
from storefront.notifications.tests.helpers import async_test, closed_with, open_socket

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
TOKEN = "/api/v1/auth/token/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def _assemble(header: dict, payload: dict, signature: str) -> str:
    return ".".join(
        [
            _b64(json.dumps(header).encode()),
            _b64(json.dumps(payload).encode()),
            signature,
        ]
    )


def _signing_key() -> str:
    return settings.SIMPLE_JWT["SIGNING_KEY"]


# --- forged tokens: each takes the victim (whose identity is claimed) ----------


def expired(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


def payload_tampered(user) -> str:
    """A genuine token of an attacker, its user_id changed to the victim's,
    the original signature kept."""
    attacker = UserFactory()
    header, payload, signature = _segments(str(AccessToken.for_user(attacker)))
    payload["user_id"] = str(user.pk)
    return _assemble(header, payload, signature)


def alg_none(user) -> str:
    _, payload, _ = _segments(str(AccessToken.for_user(user)))
    return _assemble({"alg": "none", "typ": "JWT"}, payload, "")


def alg_none_capitalised(user) -> str:
    _, payload, _ = _segments(str(AccessToken.for_user(user)))
    return _assemble({"alg": "None", "typ": "JWT"}, payload, "")


def hs512_with_our_key(user) -> str:
    """Right key, algorithm we do not accept (only HS256 is)."""
    payload = AccessToken.for_user(user).payload
    with warnings.catch_warnings():  # our key is shorter than HS512 would like
        warnings.simplefilter("ignore")
        return jwt.encode(payload, _signing_key(), algorithm="HS512")


def rs256_header(user) -> str:
    """Algorithm confusion: an asymmetric alg in the header (with a made-up
    signature) must be refused before any key is chosen."""
    _, payload, _ = _segments(str(AccessToken.for_user(user)))
    return _assemble({"alg": "RS256", "typ": "JWT"}, payload, _b64(b"\x00" * 256))


def another_key(user) -> str:
    payload = AccessToken.for_user(user).payload
    return jwt.encode(payload, "another key, long enough for HS256 (32+ bytes)", "HS256")


def refresh_as_access(user) -> str:
    return str(RefreshToken.for_user(user))


def deactivated_user(user) -> str:
    token = str(AccessToken.for_user(user))
    user.is_active = False
    user.save(update_fields=["is_active"])
    return token


def deleted_user(user) -> str:
    token = str(AccessToken.for_user(user))
    user.delete()
    return token


def no_user_claim(user) -> str:
    payload = dict(AccessToken.for_user(user).payload)
    del payload["user_id"]
    return jwt.encode(payload, _signing_key(), algorithm="HS256")


def not_a_jwt(user) -> str:
    return "not.a.jwt"


FORGED: dict[str, Callable] = {
    "expired": expired,
    "payload_tampered": payload_tampered,
    "alg_none": alg_none,
    "alg_None": alg_none_capitalised,
    "hs512_with_our_key": hs512_with_our_key,
    "rs256_header": rs256_header,
    "another_key": another_key,
    "refresh_as_access": refresh_as_access,
    "deactivated_user": deactivated_user,
    "deleted_user": deleted_user,
    "no_user_claim": no_user_claim,
    "not_a_jwt": not_a_jwt,
}


@pytest.fixture
def victim():
    return UserFactory()


def test_a_genuine_token_works(victim):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(victim)}")
    assert client.get(ME).status_code == 200


@pytest.mark.parametrize("make", FORGED.values(), ids=FORGED.keys())
def test_rest_refuses_the_token_with_a_401_problem(make, victim):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make(victim)}")

    response = client.get(ME)

    body = assert_problem(response, 401)
    # user_not_found only for a genuine token of a deleted account: nothing to enumerate.
    codes = {"token_not_valid", "authentication_failed", "user_inactive", "user_not_found"}
    assert body["code"] in codes, body
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scheme", ["Token", "JWT", "bearer-ish", "Basic"])
def test_other_authorization_schemes_do_not_authenticate(scheme, victim):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {AccessToken.for_user(victim)}")
    assert_problem(client.get(ME), 401, "not_authenticated")


@pytest.mark.parametrize("make", FORGED.values(), ids=FORGED.keys())
def test_websocket_closes_4401_for_the_token(make, victim, monkeypatch):
    # database_sync_to_async closes "old" connections, the test's own included.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    token = make(victim)  # database work, outside the event loop

    @async_test
    async def scenario() -> None:
        async with open_socket() as socket:
            await socket.send_json_to({"type": "auth", "token": token})
            assert await closed_with(socket) == CLOSE_UNAUTHORIZED

    scenario()


# --- refresh tokens ---------------------------------------------------------------


def _pair(client: APIClient, user) -> dict:
    response = client.post(TOKEN, {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_blacklisted_refresh_token_is_refused(api_client, victim):
    refresh = _pair(api_client, victim)["refresh"]
    assert api_client.post(LOGOUT, {"refresh": refresh}).status_code == 204

    assert_problem(api_client.post(REFRESH, {"refresh": refresh}), 401, "token_not_valid")


def test_a_rotated_refresh_token_is_refused(api_client, victim):
    refresh = _pair(api_client, victim)["refresh"]
    assert api_client.post(REFRESH, {"refresh": refresh}).status_code == 200

    assert_problem(api_client.post(REFRESH, {"refresh": refresh}), 401, "token_not_valid")


@pytest.mark.parametrize(
    "make",
    [payload_tampered, alg_none, hs512_with_our_key, another_key],
    ids=["payload_tampered", "alg_none", "hs512", "another_key"],
)
def test_a_forged_refresh_token_is_refused(api_client, victim, make):
    # the same forgeries, on a refresh token
    original = RefreshToken.for_user(victim)
    forged = make(victim)
    header, payload, signature = _segments(forged)
    if "token_type" in payload:
        payload["token_type"] = "refresh"
        payload["jti"] = original["jti"]
    forged = _assemble(header, payload, signature)

    assert_problem(api_client.post(REFRESH, {"refresh": forged}), 401, "token_not_valid")


def test_the_refresh_token_of_a_deactivated_user_gives_no_access_token(api_client, victim):
    refresh = _pair(api_client, victim)["refresh"]
    victim.is_active = False
    victim.save(update_fields=["is_active"])

    response = api_client.post(REFRESH, {"refresh": refresh})

    assert response.status_code == 401, response.content
    assert_problem(response, 401)
