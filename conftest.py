"""Test-wide fixtures. Tests run against real PostgreSQL and Redis (see Makefile)."""

from __future__ import annotations

import pytest
from django.conf import settings


def pytest_configure(config: pytest.Config) -> None:
    if settings.EMBEDDED or not settings.IS_POSTGRES:
        pytest.exit(
            "The tests need PostgreSQL and Redis: run them with `make test`, or set "
            "DATABASE_URL=postgres://... and REDIS_URL=redis://... yourself.",
            returncode=2,
        )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Argon2 is deliberately slow; tests hash hundreds of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Each test starts with an empty cache (a dedicated Redis db, see Makefile)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _locmem_email(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
