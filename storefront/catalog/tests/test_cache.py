"""Cached catalog reads: zero-query hits, audiences, ETags, invalidation by every write path,
and reads that survive a dead cache."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from storefront.accounts.tests.factories import StaffFactory, UserFactory
from storefront.catalog import services
from storefront.catalog.cache import (
    CATALOG_GENERATION_KEY,
    catalog_generation,
    invalidate_catalog,
    product_generation,
    read_generations,
)
from storefront.catalog.models import Category, Product, Review
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(db):
    product = ProductFactory(
        name="Original", category=CategoryFactory(slug="tools", name="Tools"), is_featured=True
    )
    ProductImageFactory(product=product)
    ReviewFactory(product=product, rating=4)
    return product


def read_urls(product):
    return [
        "/api/v1/products/",
        "/api/v2/products/?ordering=price&in_stock=true",
        "/api/v1/products/feed/",
        "/api/v1/products/featured/",
        f"/api/v1/products/{product.pk}/",
        f"/api/v2/products/{product.pk}/",
        f"/api/v1/products/{product.pk}/reviews/",
        f"/api/v1/products/{product.pk}/reviews/{product.reviews.get().pk}/",
        "/api/v1/categories/",
        "/api/v1/categories/?tree=true",
        "/api/v1/categories/tools/",
        "/api/v1/categories/tools/products/",
        "/api/v1/products/?search=original",
    ]


# --- hits ---------------------------------------------------------------------------------


def test_every_cached_read_is_served_with_zero_queries_on_a_hit(
    api_client, product, django_assert_num_queries
):
    for url in read_urls(product):
        # given a first request that filled the cache
        first = api_client.get(url)
        assert first.status_code == 200, url
        assert first["X-Cache"] == "miss"
        # when the same request comes again
        with django_assert_num_queries(0):
            second = api_client.get(url)
        # then the same bytes come back without touching the database
        assert second["X-Cache"] == "hit", url
        assert second.content == first.content
        assert second["Content-Type"] == "application/json"
        assert second["ETag"] == first["ETag"]


def test_authenticated_hit_costs_only_the_user_lookup(product, django_assert_num_queries):
    # given a customer using a real JWT (no force_authenticate shortcut)
    user = UserFactory()
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/",
        {"email": user.email, "password": "correct horse battery staple 9"},
        format="json",
    ).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get("/api/v1/products/")
    with django_assert_num_queries(1):
        assert client.get("/api/v1/products/")["X-Cache"] == "hit"


def test_query_string_is_normalised(api_client, product):
    api_client.get("/api/v1/products/?in_stock=true&ordering=price")
    assert api_client.get("/api/v1/products/?ordering=price&in_stock=true")["X-Cache"] == "hit"


def test_versions_and_media_types_do_not_share_entries(api_client, product):
    v1 = api_client.get(f"/api/v1/products/{product.pk}/")
    v2 = api_client.get(f"/api/v2/products/{product.pk}/")
    assert v2["X-Cache"] == "miss"
    assert "category_path" in v2.json()
    assert "category_path" not in v1.json()
    indented = api_client.get(
        f"/api/v1/products/{product.pk}/", HTTP_ACCEPT="application/json; indent=2"
    )
    assert indented["X-Cache"] == "miss"
    assert indented.content != v1.content


def test_staff_and_public_never_share_entries(api_client, staff_client, product):
    # given an inactive product and a public list already cached
    hidden = ProductFactory(is_active=False)
    public = api_client.get("/api/v1/products/").json()
    assert str(hidden.pk) not in str(public)
    # when staff ask for the same URL
    response = staff_client.get("/api/v1/products/")
    # then they get their own entry, with the inactive product
    assert response["X-Cache"] == "miss"
    assert str(hidden.pk) in str(response.json())
    # and the public still does not see it
    assert str(hidden.pk) not in str(api_client.get("/api/v1/products/").json())


def test_browsable_api_is_never_cached(staff, product, django_assert_max_num_queries):
    client = Client()
    client.force_login(staff)
    for _ in range(2):
        response = client.get("/api/v1/products/", HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert "X-Cache" not in response
        assert "ETag" not in response


def test_errors_are_not_cached(api_client):
    first = api_client.get("/api/v1/products/?ordering=bogus")
    assert first.status_code == 400
    assert "X-Cache" not in first
    assert "X-Cache" not in api_client.get("/api/v1/products/?ordering=bogus")


# --- ETag / Last-Modified / 304 -------------------------------------------------------------


def test_detail_and_list_carry_etag_and_last_modified(api_client, product):
    for url in (f"/api/v1/products/{product.pk}/", "/api/v1/products/"):
        response = api_client.get(url)
        assert response["ETag"].startswith('"')
        assert response["Last-Modified"].endswith("GMT")
        assert "Accept" in response["Vary"]
        assert "Authorization" in response["Vary"]


def test_if_none_match_answers_304_without_body(api_client, product, django_assert_num_queries):
    url = f"/api/v1/products/{product.pk}/"
    etag = api_client.get(url)["ETag"]
    # on a cache hit: no query, no body
    with django_assert_num_queries(0):
        response = api_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    # on a miss too (the cache emptied): the body is built, compared, not sent
    cache.clear()
    response = api_client.get(url, HTTP_IF_NONE_MATCH=f'W/{etag}, "other"')
    assert response.status_code == 304
    assert response["ETag"] == etag


def test_if_none_match_with_another_etag_answers_200(api_client, product):
    url = f"/api/v1/products/{product.pk}/"
    response = api_client.get(url, HTTP_IF_NONE_MATCH='"stale"')
    assert response.status_code == 200
    assert response.json()["name"] == "Original"
    assert api_client.get(url, HTTP_IF_NONE_MATCH="*").status_code == 304


def test_etag_changes_when_the_product_changes(
    api_client, staff_client, product, django_capture_on_commit_callbacks
):
    url = f"/api/v1/products/{product.pk}/"
    before = api_client.get(url)["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.patch(url, {"name": "Renamed"}, format="json")
    response = api_client.get(url, HTTP_IF_NONE_MATCH=before)
    assert response.status_code == 200
    assert response["ETag"] != before


# --- invalidation, one test per write path ------------------------------------------------------


def assert_fresh(client, url, expected_text, *, present=True):
    response = client.get(url)
    assert response.status_code == 200
    assert response["X-Cache"] == "miss", f"{url} was served stale from the cache"
    assert (expected_text in response.content.decode()) is present


def prime(client, *urls):
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Cache"] == "hit"


def test_api_product_create_invalidates_lists(
    api_client, staff_client, product, django_capture_on_commit_callbacks
):
    prime(api_client, "/api/v1/products/", "/api/v1/categories/tools/products/")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/api/v1/products/",
            {"sku": "N1", "slug": "n1", "name": "Brand new", "category": "tools", "price": "1"},
            format="json",
        )
    assert response.status_code == 201
    assert_fresh(api_client, "/api/v1/products/", "Brand new")
    assert_fresh(api_client, "/api/v1/categories/tools/products/", "Brand new")


def test_api_product_update_invalidates_detail_and_lists(
    api_client, staff_client, product, django_capture_on_commit_callbacks
):
    url = f"/api/v1/products/{product.pk}/"
    prime(api_client, url, "/api/v1/products/", "/api/v1/products/featured/")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.patch(url, {"name": "Renamed"}, format="json")
    for read in (url, "/api/v1/products/", "/api/v1/products/featured/"):
        assert_fresh(api_client, read, "Renamed")


def test_api_product_delete_invalidates(
    api_client, staff_client, product, django_capture_on_commit_callbacks
):
    url = f"/api/v1/products/{product.pk}/"
    prime(api_client, url, "/api/v1/products/")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.delete(url)
    assert api_client.get(url).status_code == 404
    assert_fresh(api_client, "/api/v1/products/", "Original", present=False)


def test_api_feature_and_unfeature_invalidate(
    api_client, staff_client, product, django_capture_on_commit_callbacks
):
    prime(api_client, "/api/v1/products/featured/")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(f"/api/v1/products/{product.pk}/unfeature/")
    assert_fresh(api_client, "/api/v1/products/featured/", "Original", present=False)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(f"/api/v1/products/{product.pk}/feature/")
    assert_fresh(api_client, "/api/v1/products/featured/", "Original")


def test_api_image_add_and_delete_invalidate(
    api_client, staff_client, product, django_capture_on_commit_callbacks
):
    url = f"/api/v1/products/{product.pk}/"
    prime(api_client, url)
    with django_capture_on_commit_callbacks(execute=True):
        image = staff_client.post(
            f"{url}images/", {"url": "https://cdn.example.com/new.jpg"}, format="json"
        ).json()
    assert_fresh(api_client, url, "new.jpg")
    prime(api_client, url)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.delete(f"{url}images/{image['id']}/")
    assert_fresh(api_client, url, "new.jpg", present=False)


def test_api_category_writes_invalidate_categories_and_product_details(
    api_client, staff_client, product, django_capture_on_commit_callbacks
):
    detail = f"/api/v2/products/{product.pk}/"
    prime(api_client, detail, "/api/v1/categories/", "/api/v1/categories/?tree=true")
    # rename: the product detail embeds the category path, so it goes stale too
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.patch("/api/v1/categories/tools/", {"name": "Hardware"}, format="json")
    assert_fresh(api_client, detail, "Hardware")
    assert_fresh(api_client, "/api/v1/categories/?tree=true", "Hardware")
    # create
    prime(api_client, "/api/v1/categories/")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post("/api/v1/categories/", {"slug": "toys", "name": "Toys"}, format="json")
    assert_fresh(api_client, "/api/v1/categories/", "toys")
    # delete
    prime(api_client, "/api/v1/categories/")
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_client.delete("/api/v1/categories/toys/").status_code == 204
    assert_fresh(api_client, "/api/v1/categories/", "toys", present=False)


def test_api_review_writes_invalidate_reviews_and_ratings(
    api_client, customer_client, product, django_capture_on_commit_callbacks
):
    reviews = f"/api/v1/products/{product.pk}/reviews/"
    detail = f"/api/v1/products/{product.pk}/"
    prime(api_client, reviews, detail, "/api/v1/products/")
    # create
    with django_capture_on_commit_callbacks(execute=True):
        created = customer_client.post(
            reviews, {"rating": 2, "title": "Meh review"}, format="json"
        ).json()
    assert_fresh(api_client, reviews, "Meh review")
    assert_fresh(api_client, detail, '"rating_avg":"3.00"')
    assert_fresh(api_client, "/api/v1/products/", '"review_count":2')
    # update
    prime(api_client, reviews, detail)
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.patch(created["url"], {"title": "Fine review", "rating": 4}, format="json")
    assert_fresh(api_client, reviews, "Fine review")
    assert_fresh(api_client, detail, '"rating_avg":"4.00"')
    # delete
    prime(api_client, reviews, detail)
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.delete(created["url"])
    assert_fresh(api_client, reviews, "Fine review", present=False)
    assert_fresh(api_client, detail, '"review_count":1')


def test_review_author_renaming_themselves_invalidates_review_lists(
    api_client, product, django_capture_on_commit_callbacks
):
    # given a cached review list showing its author's first name
    author = product.reviews.get().author
    author.first_name = "Ada"
    author.save()
    reviews = f"/api/v1/products/{product.pk}/reviews/"
    prime(api_client, reviews)
    # when the author changes their first name through /auth/me/
    client = APIClient()
    client.force_authenticate(author)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.patch("/api/v1/auth/me/", {"first_name": "Grace"}).status_code == 200
    # then the next read is fresh and shows the new name
    assert_fresh(api_client, reviews, "Grace")


def test_product_ratings_recompute_invalidates(
    api_client, product, django_capture_on_commit_callbacks
):
    detail = f"/api/v1/products/{product.pk}/"
    prime(api_client, detail, "/api/v1/products/")
    # a bulk insert (as an import does) bypasses the review services...
    Review.objects.create(product=product, author=UserFactory(), rating=1, title="bulk")
    # ...and the recompute it then calls updates the ratings and the cache
    with django_capture_on_commit_callbacks(execute=True):
        services.product_ratings_recompute()
    assert_fresh(api_client, detail, '"rating_avg":"2.50"')
    assert_fresh(api_client, "/api/v1/products/", '"rating_avg":"2.50"')


def test_direct_invalidate_catalog_call_invalidates_everything(
    api_client, product, django_capture_on_commit_callbacks
):
    # given cached reads, then a write that bypasses the services (an import, an order)
    urls = [u for u in read_urls(product) if "search" not in u]
    prime(api_client, *urls)
    Product.objects.filter(pk=product.pk).update(name="Imported", stock=0)
    Category.objects.filter(slug="tools").update(name="Imported tools")
    # when it calls invalidate_catalog() without product ids
    with django_capture_on_commit_callbacks(execute=True):
        invalidate_catalog()
    # then every read is rebuilt
    for url in urls:
        assert api_client.get(url)["X-Cache"] == "miss", url


def test_invalidate_catalog_with_product_ids_reaches_those_details_and_lists(
    api_client, product, django_capture_on_commit_callbacks
):
    other = ProductFactory(name="Other")
    mine, theirs = f"/api/v1/products/{product.pk}/", f"/api/v1/products/{other.pk}/"
    prime(api_client, mine, theirs, "/api/v1/products/")
    Product.objects.filter(pk=product.pk).update(stock=0)  # an order's stock change
    with django_capture_on_commit_callbacks(execute=True):
        invalidate_catalog(product_ids=[product.pk])
    assert_fresh(api_client, mine, '"stock":0')
    assert_fresh(api_client, "/api/v1/products/", '"stock":0')
    assert api_client.get(theirs)["X-Cache"] == "hit"  # untouched products stay cached


def test_rolled_back_write_does_not_invalidate(product, django_capture_on_commit_callbacks):
    before = catalog_generation(), product_generation(product.pk)
    invalidate_catalog(product_ids=[product.pk])  # never committed: no callback runs
    assert (catalog_generation(), product_generation(product.pk)) == before


def test_admin_writes_invalidate(api_client, product, django_capture_on_commit_callbacks):
    # given a superuser in the admin and a cached product detail and list
    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    detail = f"/api/v1/products/{product.pk}/"
    prime(api_client, detail, "/api/v1/products/")
    # when the product is edited in the admin
    change_url = f"/admin/catalog/product/{product.pk}/change/"
    form = {
        "sku": product.sku,
        "slug": product.slug,
        "name": "Edited in admin",
        "description": "",
        "category": product.category_id,
        "price": "5.00",
        "currency": "USD",
        "stock": "1",
        "is_active": "on",
        "attributes": "{}",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(change_url, form)
    assert response.status_code == 302, response.content[:2000]
    # then the API reads are rebuilt
    assert_fresh(api_client, detail, "Edited in admin")
    assert_fresh(api_client, "/api/v1/products/", "Edited in admin")


def test_cache_generations_are_seeded_randomly_when_missing(db):
    cache.delete(CATALOG_GENERATION_KEY)
    (generation,) = read_generations()
    assert generation > 1
    assert read_generations() == (generation,)
    assert catalog_generation() == generation


# --- a dead cache ------------------------------------------------------------------------------


def test_reads_and_writes_work_when_the_cache_is_down(settings, product, staff, caplog):
    # given the cache pointing at a closed port (a real refused connection)
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    assert cache.get("anything") is None
    # (the connection really was refused, and django-redis ignored it)
    assert any(r.name == "storefront.cache" and r.exc_info for r in caplog.records)
    client = APIClient()
    # when reading, then every read answers from the database
    for url in read_urls(product):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "X-Cache" not in response
        assert response["ETag"]
    # and writes (whose invalidation cannot reach the cache) still succeed
    staff_client = APIClient()
    staff_client.force_authenticate(staff)
    response = staff_client.patch(
        f"/api/v1/products/{product.pk}/", {"price": "7.00"}, format="json"
    )
    assert response.status_code == 200
    assert Product.objects.get(pk=product.pk).price == Decimal("7.00")
    invalidate_catalog(product_ids=[product.pk])  # does not raise


def test_staff_without_the_permission_cannot_write(product):
    # The staff role grants the catalog permissions; is_staff alone does not.
    user = StaffFactory(roles=[])
    assert not user.has_perm("catalog.change_product")
    assert Permission.objects.filter(codename="change_product").exists()
    client = APIClient()
    client.force_authenticate(user)
    assert client.patch(f"/api/v1/products/{product.pk}/", {"stock": 1}).status_code == 403
