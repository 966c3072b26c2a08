from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from storefront.accounts.tests.factories import StaffFactory, UserFactory


def access_token(user) -> str:
    return str(AccessToken.for_user(user))


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def other_user():
    return UserFactory()


@pytest.fixture
def staff():
    return StaffFactory()


@pytest.fixture
def user_token(user) -> str:
    return access_token(user)


@pytest.fixture
def client_for():
    """client_for(user): an API client sending that user's JWT access token."""

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
        return client

    return make
