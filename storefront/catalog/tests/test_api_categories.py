"""Categories API: flat list and tree, detail, products of a subtree, staff writes."""

from __future__ import annotations

import pytest

from storefront.catalog.models import Category
from storefront.catalog.tests.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
)
from storefront.catalog.tests.utils import assert_problem, field_codes

pytestmark = pytest.mark.django_db

LIST = "/api/v1/categories/"


def detail(slug, version="v1"):
    return f"/api/{version}/categories/{slug}/"


@pytest.fixture
def tree():
    """home > kitchen > knives, and garden (a second root)."""
    home = CategoryFactory(slug="home", name="Home")
    kitchen = CategoryFactory(slug="kitchen", name="Kitchen", parent=home)
    knives = CategoryFactory(slug="knives", name="Knives", parent=kitchen)
    garden = CategoryFactory(slug="garden", name="Garden")
    return {"home": home, "kitchen": kitchen, "knives": knives, "garden": garden}


# --- reads --------------------------------------------------------------------------------


def test_flat_list_names_each_parent_in_tree_order(api_client, tree):
    response = api_client.get(LIST)
    assert response.status_code == 200
    body = response.json()
    by_slug = {item["slug"]: item for item in body["results"]}
    assert body["count"] == 4
    assert by_slug["knives"]["parent"] == "kitchen"
    assert by_slug["knives"]["parent_url"] == "http://testserver/api/v1/categories/kitchen/"
    assert by_slug["knives"]["depth"] == 2
    assert by_slug["home"]["parent"] is None
    assert by_slug["home"]["parent_url"] is None
    assert by_slug["home"]["url"] == "http://testserver/api/v1/categories/home/"
    order = [item["slug"] for item in body["results"]]
    assert order.index("home") < order.index("kitchen") < order.index("knives")
    assert body["links"]["self"] == "http://testserver/api/v1/categories/"


def test_tree_nests_children_under_their_parents(api_client, tree):
    body = api_client.get(LIST, {"tree": "true"}).json()
    roots = {node["slug"]: node for node in body["results"]}
    assert set(roots) == {"home", "garden"}
    kitchen = roots["home"]["children"][0]
    assert kitchen["slug"] == "kitchen"
    assert kitchen["url"] == "http://testserver/api/v1/categories/kitchen/"
    assert [n["slug"] for n in kitchen["children"]] == ["knives"]
    assert kitchen["children"][0]["children"] == []
    assert roots["garden"]["children"] == []


def test_tree_parameter_must_be_a_boolean(api_client):
    body = assert_problem(api_client.get(LIST, {"tree": "maybe"}), 400, "validation_error")
    assert "tree" in body["errors"]


def test_tree_false_is_the_flat_list(api_client, tree):
    assert api_client.get(LIST, {"tree": "false"}).json()["count"] == 4


def test_category_detail_by_slug(api_client, tree):
    body = api_client.get(detail("kitchen", "v2")).json()
    assert body["name"] == "Kitchen"
    assert body["parent"] == "home"
    assert body["products_url"] == "http://testserver/api/v2/categories/kitchen/products/"


def test_unknown_category_is_404(api_client):
    assert_problem(api_client.get(detail("nope")), 404, "not_found")
    assert_problem(api_client.get(f"{detail('nope')}products/"), 404, "not_found")


def test_category_products_include_descendants(api_client, tree):
    # given products at every level and in another root
    in_home = ProductFactory(category=tree["home"])
    in_knives = ProductFactory(category=tree["knives"])
    ProductFactory(category=tree["garden"])
    ProductFactory(category=tree["kitchen"], is_active=False)
    # when listing the products of "home"
    body = api_client.get(f"{detail('home')}products/").json()
    # then the active products of the whole subtree are there
    assert {item["id"] for item in body["results"]} == {str(in_home.pk), str(in_knives.pk)}
    # and of a leaf, only its own
    body = api_client.get(f"{detail('knives')}products/").json()
    assert [item["id"] for item in body["results"]] == [str(in_knives.pk)]


def test_category_products_accept_the_product_filters(api_client, tree):
    ProductFactory(category=tree["knives"], stock=0)
    stocked = ProductFactory(category=tree["knives"], stock=3)
    body = api_client.get(f"{detail('home')}products/", {"in_stock": "true"}).json()
    assert [item["id"] for item in body["results"]] == [str(stocked.pk)]
    assert_problem(api_client.get(f"{detail('home')}products/", {"ordering": "x"}), 400)


@pytest.mark.parametrize("size", [2, 12])
def test_category_list_query_count_is_fixed(api_client, django_assert_num_queries, size):
    root = CategoryFactory()
    for _ in range(size):
        CategoryFactory(parent=root)
    with django_assert_num_queries(2):  # count + page (parents joined)
        response = api_client.get(LIST, {"page_size": 50})
    assert response.json()["count"] == size + 1


@pytest.mark.parametrize("size", [2, 12])
def test_category_tree_is_one_query(api_client, django_assert_num_queries, size):
    parent = CategoryFactory()
    for _ in range(size):
        parent = CategoryFactory(parent=parent) if parent.depth < 3 else CategoryFactory()
    with django_assert_num_queries(1):
        assert api_client.get(LIST, {"tree": "1"}).status_code == 200


def test_category_detail_is_one_query(api_client, django_assert_num_queries, tree):
    with django_assert_num_queries(1):
        assert api_client.get(detail("knives")).status_code == 200


@pytest.mark.parametrize(
    ("size", "version", "queries"), [(2, "v1", 4), (12, "v1", 4), (2, "v2", 5), (12, "v2", 5)]
)
def test_category_products_query_count_is_fixed(
    api_client, django_assert_num_queries, tree, size, version, queries
):
    for n in range(size):
        product = ProductFactory(category=tree["knives"] if n % 2 else tree["kitchen"])
        ProductImageFactory(product=product)
    with django_assert_num_queries(queries):  # category + count + page + images (+ paths)
        response = api_client.get(f"{detail('home', version)}products/", {"page_size": size})
    assert len(response.json()["results"]) == size


# --- writes -------------------------------------------------------------------------------


def test_staff_can_create_root_and_child_categories(staff_client):
    response = staff_client.post(LIST, {"slug": "toys", "name": "Toys"}, format="json")
    assert response.status_code == 201, response.content
    assert response["Location"] == "http://testserver/api/v1/categories/toys/"
    response = staff_client.post(
        LIST, {"slug": "lego", "name": "Lego", "parent": "toys"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["parent"] == "toys"
    lego = Category.objects.get(slug="lego")
    toys = Category.objects.get(slug="toys")
    assert lego.depth == 1
    assert lego.path == f"{toys.id.hex}/{lego.id.hex}/"


def test_customer_and_anonymous_cannot_write_categories(customer_client, api_client, tree):
    payload = {"slug": "x", "name": "X"}
    assert_problem(customer_client.post(LIST, payload, format="json"), 403, "permission_denied")
    assert_problem(api_client.post(LIST, payload, format="json"), 401, "not_authenticated")
    assert_problem(customer_client.patch(detail("home"), payload, format="json"), 403)
    assert_problem(api_client.put(detail("home"), payload, format="json"), 401)
    assert_problem(customer_client.delete(detail("garden")), 403)
    assert_problem(api_client.delete(detail("garden")), 401)


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"slug": "home", "name": "Again"}, "slug", "unique"),
        ({"slug": "bad slug", "name": "X"}, "slug", "invalid"),
        ({"slug": "x" * 101, "name": "X"}, "slug", "max_length"),
        ({"slug": "ok", "name": ""}, "name", "blank"),
        ({"slug": "ok"}, "name", "required"),
        ({"slug": "ok", "name": "X", "parent": "nope"}, "parent", "does_not_exist"),
        ({"slug": "ok", "name": "X", "parent": 5}, "parent", "does_not_exist"),
    ],
)
def test_category_validators(staff_client, tree, payload, field, code):
    body = assert_problem(staff_client.post(LIST, payload, format="json"), 400, "validation_error")
    assert code in field_codes(body, field)


def test_category_depth_is_bounded(staff_client, tree):
    # given a chain as deep as allowed (5 levels: depths 0..4)
    deep = CategoryFactory(parent=tree["knives"])
    deepest = CategoryFactory(slug="deepest", parent=deep)
    assert deepest.depth == 4
    # when adding one more level
    response = staff_client.post(
        LIST, {"slug": "too-deep", "name": "X", "parent": "deepest"}, format="json"
    )
    # then it is refused on the parent field
    body = assert_problem(response, 400, "validation_error")
    assert "parent" in body["errors"]


def test_staff_can_rename_category(staff_client, tree):
    response = staff_client.patch(detail("home"), {"name": "House"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "House"


def test_staff_can_replace_category(staff_client, tree):
    response = staff_client.put(
        detail("garden"), {"slug": "yard", "name": "Yard", "description": "Out"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["url"] == "http://testserver/api/v1/categories/yard/"


def test_moving_a_category_moves_its_subtree(staff_client, tree):
    # when kitchen (with knives below) moves under garden
    response = staff_client.patch(detail("kitchen"), {"parent": "garden"}, format="json")
    # then paths and depths of the whole subtree follow
    assert response.status_code == 200, response.content
    assert response.json()["parent"] == "garden"
    kitchen = Category.objects.get(slug="kitchen")
    knives = Category.objects.get(slug="knives")
    garden = tree["garden"]
    assert kitchen.path == f"{garden.id.hex}/{kitchen.id.hex}/"
    assert knives.path == f"{garden.id.hex}/{kitchen.id.hex}/{knives.id.hex}/"
    assert (kitchen.depth, knives.depth) == (1, 2)


def test_moving_a_category_to_the_root(staff_client, tree):
    response = staff_client.patch(detail("kitchen"), {"parent": None}, format="json")
    assert response.status_code == 200
    knives = Category.objects.get(slug="knives")
    assert knives.depth == 1
    assert knives.path == f"{tree['kitchen'].id.hex}/{knives.id.hex}/"


@pytest.mark.parametrize("target", ["knives", "kitchen"])
def test_moving_a_category_under_itself_or_a_descendant_is_400(staff_client, tree, target):
    response = staff_client.patch(detail("kitchen"), {"parent": target}, format="json")
    body = assert_problem(response, 400, "validation_error")
    assert "parent" in body["errors"]
    assert Category.objects.get(slug="kitchen").parent == tree["home"]


def test_moving_a_subtree_beyond_the_maximum_depth_is_400(staff_client, tree):
    # given garden > g1 > g2 > g3 (depth 3)
    g3 = CategoryFactory(parent=CategoryFactory(parent=CategoryFactory(parent=tree["garden"])))
    # when moving kitchen (a subtree two levels high) under g3: depths 4 and 5
    response = staff_client.patch(detail("kitchen"), {"parent": g3.slug}, format="json")
    assert_problem(response, 400, "validation_error")


def test_staff_can_delete_an_empty_category(staff_client, tree):
    assert staff_client.delete(detail("garden")).status_code == 204
    assert not Category.objects.filter(slug="garden").exists()


def test_deleting_a_category_with_children_is_409(staff_client, tree):
    assert_problem(staff_client.delete(detail("kitchen")), 409, "category_has_children")


def test_deleting_a_category_with_products_is_409_even_deleted_ones(staff_client, tree):
    ProductFactory(category=tree["garden"]).delete()
    assert_problem(staff_client.delete(detail("garden")), 409, "category_has_products")
