"""Rate limits from settings, counted in Redis; 429 is a problem with Retry-After."""

import pytest
from django.core.cache import cache

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.core.testing import assert_problem, private_redis

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """Set throttle rates for one test (DRF reloads its settings on change)."""

    def set_rates(**rates: str) -> None:
        base = {"anon": "1000/min", "user": "1000/min", "auth": "1000/min"}
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**base, **rates},
        }

    return set_rates


def test_anonymous_clients_are_limited_by_the_anon_rate(api_client, rates):
    # given an anonymous rate of 2 per minute
    rates(anon="2/min")

    # when a third request comes within the minute
    assert api_client.get("/api/v1/").status_code == 200
    assert api_client.get("/api/v1/").status_code == 200
    response = api_client.get("/api/v1/")

    # then it is refused, saying when to retry
    body = assert_problem(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "throttled" in body["detail"].lower()


def test_the_count_lives_in_the_redis_cache(api_client, rates):
    rates(anon="5/min")

    api_client.get("/api/v1/")

    # django-redis: the throttle history is a real key in our Redis db
    assert cache.client.__class__.__module__.startswith("django_redis")
    keys = cache.keys("throttle_anon_*")
    assert len(keys) == 1
    assert len(cache.get(keys[0])) == 1


def test_authenticated_users_have_their_own_rate(api_client, rates):
    # given a strict anonymous rate but a looser user rate
    rates(anon="1/min", user="3/min")
    api_client.force_authenticate(UserFactory())

    # then the user gets three requests, not one
    for _ in range(3):
        assert api_client.get("/api/v1/auth/me/").status_code == 200
    assert_problem(api_client.get("/api/v1/auth/me/"), 429, "throttled")


def test_users_are_counted_separately(api_client, rates):
    rates(user="1/min")
    first, second = UserFactory(), UserFactory()

    api_client.force_authenticate(first)
    assert api_client.get("/api/v1/auth/me/").status_code == 200
    api_client.force_authenticate(second)
    assert api_client.get("/api/v1/auth/me/").status_code == 200
    assert_problem(api_client.get("/api/v1/auth/me/"), 429, "throttled")


def test_login_attempts_are_limited_by_the_strict_auth_scope(api_client, rates):
    # given an auth rate of 2 per minute and a generous anonymous rate
    rates(auth="2/min")
    user = UserFactory()
    wrong = {"email": user.email, "password": "not the password"}

    # when someone keeps guessing passwords
    assert api_client.post("/api/v1/auth/token/", wrong, format="json").status_code == 401
    assert api_client.post("/api/v1/auth/token/", wrong, format="json").status_code == 401
    right = {"email": user.email, "password": DEFAULT_PASSWORD}
    response = api_client.post("/api/v1/auth/token/", right, format="json")

    # then even the right password is refused until the window passes
    assert_problem(response, 429, "throttled")
    assert "Retry-After" in response


def test_registration_shares_the_auth_budget(api_client, rates):
    rates(auth="1/min")
    payload = {"email": "new@example.com", "password": DEFAULT_PASSWORD}

    assert api_client.post("/api/v1/auth/register/", payload, format="json").status_code == 202
    payload["email"] = "other@example.com"
    response = api_client.post("/api/v1/auth/register/", payload, format="json")

    assert_problem(response, 429, "throttled")


@pytest.mark.slow
def test_throttles_fail_open_when_redis_is_down(api_client, rates, settings):
    # given the cache on a Redis of our own, and a rate of one request
    with private_redis() as redis:
        settings.CACHES = {
            **settings.CACHES,
            "default": {**settings.CACHES["default"], "LOCATION": redis.url},
        }
        rates(anon="1/min")
        # when that Redis is down
        redis.stop()

        # then requests are served rather than refused (availability first)
        assert api_client.get("/api/v1/").status_code == 200
        assert api_client.get("/api/v1/").status_code == 200
