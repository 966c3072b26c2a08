"""Catalog test fixtures: users by role and clients logged in as them."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory, UserFactory


@pytest.fixture
def customer(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def customer_client(customer):
    client = APIClient()
    client.force_authenticate(customer)
    return client


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client
