"""Liveness and readiness. Failures come from private services this test
starts and stops itself (by PID); the shared PostgreSQL and Redis are never
touched."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

from storefront.celery import app as celery_app
from storefront.core import health
from storefront.core.testing import assert_problem, free_port, private_redis

pytestmark = pytest.mark.django_db


def _cache_at(url: str) -> dict:
    default = {**settings.CACHES["default"], "LOCATION": url}
    return {**settings.CACHES, "default": default}


@pytest.fixture
def broker_url():
    """Point the Celery app at a URL for one test, then back."""
    original = celery_app.conf.broker_url

    def point(url: str) -> None:
        celery_app.conf.broker_url = url

    yield point
    celery_app.conf.broker_url = original


def test_liveness_answers_200_without_checking_anything(api_client):
    response = api_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_checks_database_cache_and_broker(api_client):
    response = api_client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }


@pytest.mark.slow
def test_readiness_is_503_naming_the_cache_when_redis_goes_down(api_client, settings):
    with private_redis() as redis:
        # given the cache on a Redis of our own, which answers
        settings.CACHES = _cache_at(redis.url)
        assert api_client.get("/readyz").status_code == 200

        # when that Redis stops
        redis.stop()
        response = api_client.get("/readyz")

    # then readiness fails and names the cache, and only the cache
    body = assert_problem(response, 503, "dependency_unavailable")
    assert body["detail"] == "Unavailable: cache."
    assert body["checks"]["cache"].startswith("unavailable (")
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"


@pytest.mark.slow
def test_readiness_is_503_naming_the_broker_when_it_goes_down(api_client, broker_url, settings):
    with private_redis() as redis:
        # given the Celery broker on a Redis of our own, which answers
        settings.CELERY_BROKER_URL = redis.url
        broker_url(redis.url)
        assert api_client.get("/readyz").json()["checks"]["broker"] == "ok"

        # when that Redis stops
        redis.stop()
        response = api_client.get("/readyz")

    body = assert_problem(response, 503, "dependency_unavailable")
    assert body["detail"] == "Unavailable: broker."
    assert body["checks"]["broker"].startswith("unavailable (")


def test_the_broker_check_is_skipped_in_embedded_mode(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    assert health.check_broker() == health.SKIPPED


def test_the_cache_check_of_a_local_memory_cache_round_trips(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }

    assert health.check_cache() == health.OK


@pytest.mark.slow
def test_readiness_is_503_naming_the_database_when_it_is_unreachable(tmp_path):
    # given a process configured with a database on a port nothing listens on
    # (a real connection failure; the shared PostgreSQL is not touched, and the
    # test's own connection cannot be repointed safely in-process)
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://root@127.0.0.1:{free_port()}/nowhere",
        "REDIS_URL": os.environ.get("REDIS_URL", settings.REDIS_URL),
        "SECRET_KEY": "test",
        "DB_CONNECT_TIMEOUT": "2",
        "STOREFRONT_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "storefront.settings",
        "LOG_LEVEL": "CRITICAL",
    }
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client(HTTP_HOST='localhost').get('/readyz')\n"
        "print(json.dumps({'status': r.status_code, 'type': r['Content-Type'],"
        " 'body': r.json()}))\n"
    )

    # when it is asked whether it is ready
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # then it says no, naming the database
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 503
    assert answer["type"] == "application/problem+json"
    assert answer["body"]["detail"] == "Unavailable: database."
    assert answer["body"]["checks"]["database"] == "unavailable (OperationalError)"
    assert answer["body"]["checks"]["cache"] == "ok"
