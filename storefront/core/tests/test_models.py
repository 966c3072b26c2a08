"""BaseModel and SoftDeleteModel, exercised through a real model (catalog's
Product) rather than a test-only table; plus a rule every soft-deletable model
of every app must follow."""

import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models

from storefront.catalog.models import Category, Product
from storefront.core.models import BaseModel, SoftDeleteModel, SoftDeleteQuerySet

pytestmark = pytest.mark.django_db


@pytest.fixture
def category():
    ident = uuid.uuid4()
    return Category.objects.create(
        id=ident, slug=f"c-{ident.hex[:8]}", name="Things", path=f"{ident.hex}/", depth=0
    )


@pytest.fixture
def make_product(category):
    def make(name: str = "Lamp") -> Product:
        ident = uuid.uuid4().hex[:8]
        return Product.objects.create(
            sku=f"SKU-{ident}",
            slug=f"p-{ident}",
            name=name,
            category=category,
            price=Decimal("9.90"),
        )

    return make


def _field(model, name: str) -> models.Field:
    return model._meta.get_field(name)


def test_base_model_has_a_uuid_key_and_indexed_timestamps():
    assert isinstance(_field(BaseModel, "id"), models.UUIDField)
    assert _field(BaseModel, "id").primary_key
    assert _field(BaseModel, "created_at").db_index
    assert _field(BaseModel, "updated_at").db_index
    assert BaseModel._meta.abstract
    assert SoftDeleteModel._meta.abstract


def test_a_new_row_gets_a_random_uuid_and_timestamps(make_product):
    product = make_product()

    assert isinstance(product.pk, uuid.UUID)
    assert product.pk.version == 4
    assert product.created_at is not None
    assert product.updated_at >= product.created_at


def test_saving_moves_updated_at_but_not_created_at(make_product):
    product = make_product()
    created, updated = product.created_at, product.updated_at

    product.name = "Desk lamp"
    product.save()
    product.refresh_from_db()

    assert product.created_at == created
    assert product.updated_at > updated


def test_deleting_an_instance_hides_it_but_keeps_the_row(make_product):
    # given a product
    product = make_product()

    # when it is deleted
    result = product.delete()

    # then the default manager no longer sees it, all_objects still does
    assert result == (1, {"catalog.Product": 1})
    assert product.is_deleted
    assert not Product.objects.filter(pk=product.pk).exists()
    assert Product.all_objects.get(pk=product.pk).deleted_at is not None


def test_a_deleted_row_can_be_restored(make_product):
    product = make_product()
    product.delete()

    product.restore()

    assert not product.is_deleted
    assert Product.objects.filter(pk=product.pk).exists()


def test_hard_delete_removes_the_row(make_product):
    product = make_product()

    product.hard_delete()

    assert not Product.all_objects.filter(pk=product.pk).exists()


def test_queryset_delete_through_all_objects_is_soft(make_product):
    keep, gone = make_product("keep"), make_product("gone")

    count, per_model = Product.all_objects.filter(pk=gone.pk).delete()

    assert (count, per_model) == (1, {"catalog.Product": 1})
    assert list(Product.objects.values_list("name", flat=True)) == ["keep"]
    assert Product.all_objects.count() == 2
    assert keep.pk in set(Product.all_objects.alive().values_list("pk", flat=True))
    assert list(Product.all_objects.dead().values_list("pk", flat=True)) == [gone.pk]


def test_queryset_hard_delete_removes_rows(make_product):
    make_product()

    Product.all_objects.all().hard_delete()

    assert Product.all_objects.count() == 0


def test_related_lookups_see_deleted_rows_through_the_base_manager(make_product):
    # an order line must still reach a product deleted after the order
    product = make_product()
    product.delete()

    assert Product._base_manager.filter(pk=product.pk).exists()


def _soft_delete_models():
    return [m for m in apps.get_models() if issubclass(m, SoftDeleteModel)]


def test_there_are_soft_deletable_models_to_check():
    assert Product in _soft_delete_models()


@pytest.mark.parametrize("model", _soft_delete_models(), ids=lambda m: m._meta.label)
def test_every_soft_deletable_model_keeps_deletes_soft_and_hides_deleted_rows(model):
    # A custom default manager must build on SoftDeleteManager/SoftDeleteQuerySet;
    # a plain QuerySet would make `Model.objects.filter(...).delete()` a HARD delete.
    queryset = model._default_manager.all()
    assert isinstance(queryset, SoftDeleteQuerySet), (
        f"{model._meta.label}'s default manager returns {type(queryset).__name__}: "
        "queryset delete() would remove rows; derive it from SoftDeleteQuerySet"
    )
    assert "deleted_at__isnull" in str(queryset.query.where) or "deleted_at" in str(
        queryset.query
    ), f"{model._meta.label}'s default manager shows deleted rows"
