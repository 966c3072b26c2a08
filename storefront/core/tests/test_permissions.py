"""The project's permission classes: closed by default, explicit everywhere else."""

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIRequestFactory

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.core.permissions import DenyAll, IsStaff, ReadOnly

pytestmark = pytest.mark.django_db
factory = APIRequestFactory()


def _request(method: str, user=None):
    request = getattr(factory, method)("/")
    request.user = user or AnonymousUser()
    return request


def test_deny_all_denies_even_staff():
    assert not DenyAll().has_permission(_request("get", StaffFactory()), None)


SAFE = [("get", True), ("head", True), ("options", True)]
UNSAFE = [("post", False), ("patch", False), ("delete", False)]


@pytest.mark.parametrize(("method", "allowed"), SAFE + UNSAFE)
def test_read_only_allows_safe_methods_only(method, allowed):
    assert ReadOnly().has_permission(_request(method), None) is allowed


def test_is_staff_needs_an_authenticated_staff_member():
    assert IsStaff().has_permission(_request("post", StaffFactory()), None)
    assert not IsStaff().has_permission(_request("post", UserFactory()), None)
    assert not IsStaff().has_permission(_request("post"), None)
