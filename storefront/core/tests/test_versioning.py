"""URL path versioning: /api/v1/ and /api/v2/ live side by side."""

import pytest

from storefront.accounts.tests.factories import UserFactory
from storefront.core.testing import assert_problem

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_each_known_version_has_a_root_that_names_it(api_client, version):
    response = api_client.get(f"/api/{version}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["version"] == version
    # hyperlinks stay within the version asked for
    assert body["links"]["me"] == f"http://testserver/api/{version}/auth/me/"


@pytest.mark.parametrize("url", ["/api/v3/", "/api/v3/auth/me/", "/api/v0/auth/register/"])
def test_an_unknown_version_is_a_404_problem(api_client, url):
    body = assert_problem(api_client.get(url), 404, "not_found")
    assert body["detail"] == "Invalid version in URL path."


def test_request_version_reaches_serializers_so_links_keep_it(api_client):
    # given a logged-in user
    api_client.force_authenticate(UserFactory())

    # when they read their account under v2
    response = api_client.get("/api/v2/auth/me/")

    # then its url points at v2, not at the default version
    assert response.status_code == 200
    assert response.json()["url"] == "http://testserver/api/v2/auth/me/"


def test_versions_index_lists_every_version(api_client):
    response = api_client.get("/api/")

    assert response.status_code == 200
    body = response.json()
    assert body["versions"] == {
        "v1": "http://testserver/api/v1/",
        "v2": "http://testserver/api/v2/",
    }
    assert body["default"] == "v1"
