"""Verified registration: register (always 202), confirm the address, then log in.

What must hold: the answer to a valid registration never depends on whether
the address has an account; only the e-mail sent to the address differs. An
account is usable only after its owner confirms the address with the e-mailed
token, which works once and expires.
"""

from __future__ import annotations

import re
import time
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils.http import base36_to_int, int_to_base36

from storefront.accounts.api.views import ADDRESS_CONFIRMED, REGISTRATION_ACCEPTED
from storefront.accounts.models import User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.accounts.tokens import verification_token_make
from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
VERIFY = "/api/v1/auth/verify/"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/auth/me/"
OTHER_PASSWORD = "another long passphrase 8"


@pytest.fixture
def register(api_client, django_capture_on_commit_callbacks):
    """POST a registration and run what it scheduled after commit (the e-mail)."""

    def post(email: str, password: str = DEFAULT_PASSWORD, url: str = REGISTER, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(url, {"email": email, "password": password, **extra})

    return post


def token_from(message) -> str:
    """The confirmation token of an e-mail: in its link, and on a line of its own."""
    link = re.search(r"^(https?://\S+)$", message.body, re.M).group(1)
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert re.search(rf"^{re.escape(token)}$", message.body, re.M)
    return token


def log_in(client, email: str, password: str = DEFAULT_PASSWORD):
    return client.post(TOKEN, {"email": email, "password": password})


class TestRegisterANewAddress:
    def test_is_accepted_and_the_account_waits_inactive_for_confirmation(self, register):
        response = register("ann@example.com", first_name="Ann", last_name="Lee")

        assert response.status_code == 202
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": REGISTRATION_ACCEPTED}
        user = User.objects.get(email="ann@example.com")
        assert not user.is_active
        assert user.pending_verification
        assert user.check_password(DEFAULT_PASSWORD)
        assert (user.first_name, user.last_name) == ("Ann", "Lee")
        assert list(user.groups.values_list("name", flat=True)) == ["customer"]
        assert not user.is_staff

    def test_one_confirmation_email_with_a_working_token_is_sent(self, api_client, register):
        register("ann@example.com", first_name="Ann")

        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["ann@example.com"]
        assert message.subject == "Confirm your e-mail address"
        assert "Hello Ann" in message.body
        token = token_from(message)
        assert api_client.post(VERIFY, {"token": token}).status_code == 200

    def test_the_email_goes_out_only_after_commit(
        self, api_client, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            api_client.post(REGISTER, {"email": "ann@example.com", "password": DEFAULT_PASSWORD})

        assert mail.outbox == []
        assert len(callbacks) == 1

    def test_the_link_points_at_frontend_verify_url(self, register, settings):
        settings.FRONTEND_VERIFY_URL = "https://shop.example.com/confirm"

        register("ann@example.com")

        link = re.search(r"^(https?://\S+)$", mail.outbox[0].body, re.M).group(1)
        assert link.startswith("https://shop.example.com/confirm?token=")

    def test_is_served_under_v2_too(self, register):
        response = register("ann@example.com", url="/api/v2/auth/register/")

        assert response.status_code == 202
        assert response.json() == {"detail": REGISTRATION_ACCEPTED}
        assert len(mail.outbox) == 1

    def test_privilege_fields_in_the_payload_are_ignored(self, register):
        response = register(
            "sneaky@example.com", is_staff=True, is_superuser=True, is_active=True, groups=["staff"]
        )

        assert response.status_code == 202
        user = User.objects.get(email="sneaky@example.com")
        assert not user.is_staff
        assert not user.is_superuser
        assert not user.is_active
        assert list(user.groups.values_list("name", flat=True)) == ["customer"]

    def test_the_customer_group_is_created_if_missing(self, register):
        Group.objects.filter(name="customer").delete()

        register("c@example.com")

        assert User.objects.get(email="c@example.com").groups.get().name == "customer"


class TestRegisterATakenAddress:
    @pytest.mark.parametrize(
        "email", ["taken@example.com", "TAKEN@example.com", "Taken@Example.COM"]
    )
    def test_same_answer_no_change_and_the_owner_is_told(self, register, email):
        # given an account, whatever the case the address is typed in
        owner = UserFactory(email="taken@example.com", first_name="Tess", last_name="Old")
        password_hash = owner.password

        # when someone registers its address with another password and names
        response = register(email, OTHER_PASSWORD, first_name="Mallory", last_name="New")

        # then the answer is the one a new address gets
        assert response.status_code == 202
        assert response.json() == {"detail": REGISTRATION_ACCEPTED}
        # and the account is untouched, with no second one
        assert User.objects.filter(email__iexact=email).count() == 1
        owner.refresh_from_db()
        assert owner.password == password_hash
        assert (owner.first_name, owner.last_name, owner.is_active) == ("Tess", "Old", True)
        # and its owner alone hears of it, with no token
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["taken@example.com"]
        assert message.subject == "Someone tried to register with your e-mail address"
        assert "Sign in with your e-mail address" in message.body
        assert "verify" not in message.body

    def test_the_owner_can_still_log_in_with_the_old_password_only(self, api_client, register):
        owner = UserFactory(email="taken@example.com")

        register(owner.email, OTHER_PASSWORD)

        assert log_in(api_client, owner.email).status_code == 200
        assert_problem(log_in(api_client, owner.email, OTHER_PASSWORD), 401, "no_active_account")

    def test_a_deactivated_account_is_not_reopened(self, api_client, register):
        # given an account staff deactivated
        banned = UserFactory(email="banned@example.com", is_active=False)

        # when its address is registered again
        response = register(banned.email, OTHER_PASSWORD)

        # then it stays as it was: no confirmation token to reactivate it
        assert response.status_code == 202
        banned.refresh_from_db()
        assert not banned.is_active
        assert not banned.pending_verification
        assert banned.check_password(DEFAULT_PASSWORD)
        assert mail.outbox[0].subject == "Someone tried to register with your e-mail address"


class TestRegisterAgainBeforeConfirming:
    def test_replaces_the_password_and_sends_a_fresh_token(self, api_client, register):
        # given a registration whose e-mail was lost
        register("ann@example.com", first_name="Ann")
        first = token_from(mail.outbox[0])

        # when the same address registers again, with another password
        response = register("ANN@example.com", OTHER_PASSWORD, first_name="Anna")

        # then it is treated like a new registration of the same account
        assert response.status_code == 202
        assert response.json() == {"detail": REGISTRATION_ACCEPTED}
        user = User.objects.get(email__iexact="ann@example.com")
        assert user.email == "ann@example.com"
        assert user.check_password(OTHER_PASSWORD)
        assert user.first_name == "Anna"
        assert not user.is_active
        assert [m.subject for m in mail.outbox] == ["Confirm your e-mail address"] * 2
        # and only the newest token works: the password it was made with changed
        assert_problem(api_client.post(VERIFY, {"token": first}), 400, "invalid_token")
        assert api_client.post(VERIFY, {"token": token_from(mail.outbox[1])}).status_code == 200
        assert log_in(api_client, "ann@example.com", OTHER_PASSWORD).status_code == 200


class TestRegisterInvalidInput:
    @pytest.mark.parametrize(
        ("password", "code"),
        [
            ("short1", "password_too_short"),
            ("password123", "password_too_common"),
            ("83649273619", "password_entirely_numeric"),
            ("annalee.example", "password_too_similar"),
        ],
    )
    def test_a_weak_password_is_refused_with_the_reason(self, register, password, code):
        response = register("annalee@example.com", password)

        body = assert_problem(response, 400, "validation_error")
        assert code in [e["code"] for e in body["errors"]["password"]]
        assert not User.objects.filter(email="annalee@example.com").exists()
        assert mail.outbox == []

    def test_a_weak_password_is_refused_for_a_taken_address_alike(self, register):
        UserFactory(email="taken@example.com")

        body = assert_problem(register("taken@example.com", "short1"), 400, "validation_error")

        assert "password_too_short" in [e["code"] for e in body["errors"]["password"]]
        assert mail.outbox == []

    def test_missing_fields_are_named(self, api_client):
        body = assert_problem(api_client.post(REGISTER, {}, format="json"), 400)

        assert body["errors"]["email"][0]["code"] == "required"
        assert body["errors"]["password"][0]["code"] == "required"

    @pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com"])
    def test_a_malformed_email_is_refused(self, register, email):
        body = assert_problem(register(email), 400, "validation_error")

        assert body["errors"]["email"][0]["code"] == "invalid"
        assert User.objects.count() == 0


class TestVerify:
    def test_activates_the_account_which_can_then_log_in(self, api_client, register):
        # given a registration and its e-mailed token
        register("ann@example.com")
        token = token_from(mail.outbox[0])
        assert_problem(log_in(api_client, "ann@example.com"), 401, "no_active_account")

        # when the token is sent back
        response = api_client.post(VERIFY, {"token": token})

        # then the account is active and logs in
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": ADDRESS_CONFIRMED}
        user = User.objects.get(email="ann@example.com")
        assert user.is_active
        assert not user.pending_verification
        pair = log_in(api_client, "ann@example.com").json()
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
        assert api_client.get(ME).json()["email"] == "ann@example.com"

    def test_is_served_under_v2_too(self, api_client, register):
        register("ann@example.com")

        response = api_client.post("/api/v2/auth/verify/", {"token": token_from(mail.outbox[0])})

        assert response.status_code == 200
        assert User.objects.get(email="ann@example.com").is_active

    def test_a_token_works_once(self, api_client, register):
        register("ann@example.com")
        token = token_from(mail.outbox[0])
        api_client.post(VERIFY, {"token": token})

        assert_problem(api_client.post(VERIFY, {"token": token}), 400, "invalid_token")

    def test_a_used_token_does_not_reactivate_a_later_deactivated_account(
        self, api_client, register
    ):
        # given a confirmed account that staff then deactivated
        register("ann@example.com")
        token = token_from(mail.outbox[0])
        api_client.post(VERIFY, {"token": token})
        User.objects.filter(email="ann@example.com").update(is_active=False)

        # when the old token is tried again
        response = api_client.post(VERIFY, {"token": token})

        # then the account stays deactivated
        assert_problem(response, 400, "invalid_token")
        assert not User.objects.get(email="ann@example.com").is_active

    def test_an_expired_token_is_refused(self, api_client, register, settings):
        settings.ACCOUNT_VERIFICATION_MAX_AGE = 3600
        register("ann@example.com")
        token = token_from(mail.outbox[0])

        later = time.time() + 3601
        with mock.patch("storefront.accounts.tokens.time.time", return_value=later):
            response = api_client.post(VERIFY, {"token": token})

        assert_problem(response, 400, "invalid_token")
        assert not User.objects.get(email="ann@example.com").is_active

    def test_a_token_just_within_its_max_age_works(self, api_client, register, settings):
        settings.ACCOUNT_VERIFICATION_MAX_AGE = 3600
        register("ann@example.com")
        token = token_from(mail.outbox[0])

        with mock.patch("storefront.accounts.tokens.time.time", return_value=time.time() + 3500):
            assert api_client.post(VERIFY, {"token": token}).status_code == 200

    def test_a_token_from_the_future_is_refused(self, api_client, register):
        register("ann@example.com")
        user = User.objects.get(email="ann@example.com")
        with mock.patch("storefront.accounts.tokens.time.time", return_value=time.time() + 3600):
            token = verification_token_make(user=user)

        assert_problem(api_client.post(VERIFY, {"token": token}), 400, "invalid_token")

    def test_a_tampered_token_is_refused(self, api_client, register):
        # given two registrations, and the token of the first
        register("ann@example.com")
        register("bob@example.com")
        token = token_from(mail.outbox[0])
        user_b64, timestamp, mac = token.split(".")
        bob_b64 = token_from(mail.outbox[1]).split(".")[0]
        flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
        later = int_to_base36(base36_to_int(timestamp) + 1)

        # when it is altered: another account, another time, another MAC
        for bad in [
            f"{bob_b64}.{timestamp}.{mac}",
            f"{user_b64}.{later}.{mac}",
            f"{user_b64}.{timestamp}.{flipped}",
        ]:
            assert_problem(api_client.post(VERIFY, {"token": bad}), 400, "invalid_token")

        # then neither account was activated
        assert not User.objects.filter(is_active=True).exists()

    def test_a_token_made_with_another_key_is_refused(self, api_client, register, settings):
        register("ann@example.com")
        user = User.objects.get(email="ann@example.com")
        ours = settings.SECRET_KEY
        settings.SECRET_KEY = "someone else's key, long enough for an hmac 1234567890"
        forged = verification_token_make(user=user)
        settings.SECRET_KEY = ours

        assert_problem(api_client.post(VERIFY, {"token": forged}), 400, "invalid_token")
        assert not User.objects.get(pk=user.pk).is_active

    def test_a_password_reset_token_is_not_a_confirmation_token(self, api_client, register):
        register("ann@example.com")
        user = User.objects.get(email="ann@example.com")
        # the same shape as ours (user, time, MAC), from Django's password reset
        user_b64 = token_from(mail.outbox[0]).split(".")[0]
        timestamp, mac = default_token_generator.make_token(user).split("-")
        reset = f"{user_b64}.{timestamp}.{mac}"

        assert_problem(api_client.post(VERIFY, {"token": reset}), 400, "invalid_token")

    def test_the_token_of_a_deleted_account_is_refused(self, api_client, register):
        register("ann@example.com")
        token = token_from(mail.outbox[0])
        User.objects.filter(email="ann@example.com").delete()

        assert_problem(api_client.post(VERIFY, {"token": token}), 400, "invalid_token")

    def test_a_token_made_before_a_secret_key_rotation_still_works(
        self, api_client, register, settings
    ):
        register("ann@example.com")
        token = token_from(mail.outbox[0])

        settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
        settings.SECRET_KEY = "a new secret key that is long enough for hmac 1234567890"

        assert api_client.post(VERIFY, {"token": token}).status_code == 200

    @pytest.mark.parametrize(
        "token",
        [
            "garbage",
            "a.b.c",
            "a.b.c.d",
            "x" * 128,
            "AAAAAAAAAAAAAAAAAAAAAA.zzzzzzzzzzzzzz.mac",
            "AAAAAAAAAAAAAAAAAAAAAA.1.",
            "ünïcödé.tökén.mäc",
            "null",
        ],
        ids=[
            "garbage",
            "three-parts",
            "four-parts",
            "long",
            "huge-time",
            "no-mac",
            "non-ascii",
            "null",
        ],
    )
    def test_garbage_is_an_invalid_token(self, api_client, token):
        assert_problem(api_client.post(VERIFY, {"token": token}), 400, "invalid_token")

    @pytest.mark.parametrize(
        ("body", "code"),
        [({}, "required"), ({"token": ""}, "blank"), ({"token": "x" * 129}, "max_length")],
    )
    def test_a_bad_body_is_a_validation_error(self, api_client, body, code):
        response = api_client.post(VERIFY, body, format="json")

        body = assert_problem(response, 400, "validation_error")
        assert body["errors"]["token"][0]["code"] == code


class TestMethodsAndThrottling:
    @pytest.mark.parametrize("url", [REGISTER, VERIFY])
    @pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
    def test_only_post_is_allowed(self, api_client, url, method):
        response = getattr(api_client, method)(url)

        body = assert_problem(response, 405, "method_not_allowed")
        assert method.upper() in body["detail"]
        assert "POST" in response["Allow"]

    def test_register_and_verify_share_the_auth_budget(self, api_client, register, settings):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "1000/min", "auth": "3/min"},
        }
        register("a@example.com")
        api_client.post(VERIFY, {"token": "garbage"})
        api_client.post(TOKEN, {"email": "a@example.com", "password": "x"})

        for response in [
            api_client.post(VERIFY, {"token": token_from(mail.outbox[0])}),
            api_client.post(REGISTER, {"email": "b@example.com", "password": DEFAULT_PASSWORD}),
        ]:
            assert_problem(response, 429, "throttled")
            # Within this minute and a third of the next: the sliding window's
            # estimate after 3 of 3 (core/throttling.py, retry_after).
            assert 1 <= int(response["Retry-After"]) <= 80
        assert not User.objects.get(email="a@example.com").is_active
        assert not User.objects.filter(email="b@example.com").exists()


def test_the_api_root_links_registration_and_its_confirmation(api_client):
    links = api_client.get("/api/v1/").json()["links"]

    assert links["register"].endswith("/api/v1/auth/register/")
    assert links["verify"].endswith("/api/v1/auth/verify/")
