"""Rate limits from settings, counted in Redis; 429 is a problem with Retry-After."""

import threading
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.test import RequestFactory

from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from storefront.core.testing import assert_problem, private_redis
from storefront.core.throttling import RateThrottle, parse_rate, retry_after

pytestmark = pytest.mark.django_db


QUARTER_PAST = 1_000_020.0 + 15  # 15 s into a minute window (1_000_020 = 16,667 x 60)


def test_anonymous_clients_are_limited_by_the_anon_rate(api_client, rates):
    # given an anonymous rate of 2 per minute, 15 s into a minute
    rates(anon="2/min")

    with mock.patch("storefront.core.throttling.time.time", return_value=QUARTER_PAST):
        # when a third request comes within the minute
        assert api_client.get("/api/v1/").status_code == 200
        assert api_client.get("/api/v1/").status_code == 200
        response = api_client.get("/api/v1/")

    # then it is refused, saying when to retry: the 45 s left of this minute,
    # then half the next (this minute's 2 requests weigh 1 by then)
    body = assert_problem(response, 429, "throttled")
    assert response["Retry-After"] == "75"
    assert "throttled" in body["detail"].lower()


def test_the_count_lives_in_redis_one_key_per_client_and_window(api_client, rates):
    rates(anon="5/min")

    with mock.patch("storefront.core.throttling.time.time", return_value=QUARTER_PAST):
        api_client.get("/api/v1/")
        api_client.get("/api/v1/")

    # django-redis: the counter is a real key in our Redis db, under the cache's prefix
    assert cache.client.__class__.__module__.startswith("django_redis")
    keys = cache.keys("throttle:anon:*")
    assert len(keys) == 1
    assert int(cache.client.get_client().get(cache.make_key(keys[0]))) == 2


def test_a_refused_request_does_not_use_the_budget(api_client, rates):
    rates(anon="1/min")
    with mock.patch("storefront.core.throttling.time.time", return_value=QUARTER_PAST):
        assert api_client.get("/api/v1/").status_code == 200

        for _ in range(3):
            assert_problem(api_client.get("/api/v1/"), 429, "throttled")

    (key,) = cache.keys("throttle:anon:*")
    assert int(cache.client.get_client().get(cache.make_key(key))) == 1


def test_concurrent_requests_cannot_exceed_the_rate():
    """DRF's list-in-the-cache throttle reads, then writes: two requests at once
    both pass. The counter is an atomic INCR: exactly the rate gets through."""
    from rest_framework.settings import api_settings

    factory = RequestFactory()
    allowed = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def one_request() -> None:
        request = factory.get("/api/v1/", REMOTE_ADDR="203.0.113.9")
        request.user = AnonymousUser()
        barrier.wait()
        ok = RateThrottle().allow_request(request, None)
        with lock:
            allowed.append(ok)

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "5/min"}
    with mock.patch.object(api_settings, "DEFAULT_THROTTLE_RATES", rates):
        threads = [threading.Thread(target=one_request) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert allowed.count(True) == 5
    assert allowed.count(False) == 15


def test_the_window_slides_the_previous_minute_still_counts_in_part(rates):
    # given a client that used its whole budget of 10 in the previous minute
    from rest_framework.settings import api_settings

    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    request.user = AnonymousUser()
    limits = {**api_settings.DEFAULT_THROTTLE_RATES, "anon": "10/min"}
    start = 1_000_020.0  # 0 s into a minute window
    with mock.patch.object(api_settings, "DEFAULT_THROTTLE_RATES", limits):
        with mock.patch("storefront.core.throttling.time.time", return_value=start - 30):
            assert all(RateThrottle().allow_request(request, None) for _ in range(10))

        # when it comes back 15 s into the next minute (3/4 of the last one still counts)
        throttle = RateThrottle()
        with mock.patch("storefront.core.throttling.time.time", return_value=start + 15):
            admitted = sum(throttle.allow_request(request, None) for _ in range(5))
            refused = RateThrottle()
            assert not refused.allow_request(request, None)

    # then only what the sliding minute leaves is admitted: 10 - 7.5 = 2
    assert admitted == 2
    # and the refusal says when the next one fits (the old minute decays by 1 every 6 s)
    assert 1 <= refused.wait() <= 6


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # (current, previous, elapsed) for a limit of 10 per 60 s
        ((9, 0, 0.5), 1),  # room now: the minimum
        ((5, 10, 0.25), 21),  # previous must decay from 7.5 to 4: at 0.6 of the window
        ((10, 0, 0.5), 36),  # this window is full: next window, once 1/10 of it passed
        ((10, 10, 0.0), 66),
    ],
)
def test_retry_after_is_when_the_next_request_fits(counts, expected):
    current, previous, elapsed = counts
    wait = retry_after(current=current, previous=previous, elapsed=elapsed, limit=10, duration=60)
    assert wait == expected


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("5/s", (5, 1)), ("120/min", (120, 60)), ("10/hour", (10, 3600)), ("1/day", (1, 86400))],
)
def test_rates_are_read_as_count_per_period(rate, parsed):
    assert parse_rate(rate) == parsed
    assert parse_rate(None) is None


def test_embedded_mode_counts_in_the_local_memory_cache(api_client, rates, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    rates(anon="2/min")

    assert api_client.get("/api/v1/").status_code == 200
    assert api_client.get("/api/v1/").status_code == 200
    response = api_client.get("/api/v1/")

    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


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
