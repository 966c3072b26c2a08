"""Test-wide fixtures. Tests run against real PostgreSQL and Redis (see Makefile)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings


def pytest_configure(config: pytest.Config) -> None:
    if settings.EMBEDDED or not settings.IS_POSTGRES:
        pytest.exit(
            "The tests need PostgreSQL and Redis: run them with `make test`, or set "
            "DATABASE_URL=postgres://... and REDIS_URL=redis://... yourself.",
            returncode=2,
        )
    # E-mail needs nothing here: Django's test environment already swaps in the
    # locmem backend (and overriding EMAIL_BACKEND warns since Django 6.1).
    # WhiteNoise warns on every client when STATIC_ROOT is missing.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Argon2 is deliberately slow; tests hash hundreds of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Each test starts with an empty cache (a dedicated Redis db, see Makefile)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
