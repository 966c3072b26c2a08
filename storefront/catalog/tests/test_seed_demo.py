"""Specification of `manage.py seed_demo`: a generated demo catalog through the importer."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from storefront.accounts.models import User
from storefront.catalog.models import Category, Product, Review

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--no-progress", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_loads_a_catalog_with_reviews_and_reviewers():
    # When a demo catalog of 120 products is seeded
    output = seed("--products", "120", "--seed", "3")

    # Then products, a three-level tree, reviews and their reviewers exist
    assert Product.objects.count() == 120
    assert set(Category.objects.values_list("depth", flat=True)) == {0, 1, 2}
    assert Review.objects.exists()
    assert User.objects.filter(reviews__isnull=False).exists()
    assert "products 120 created" in output
    # And the ratings are denormalised
    reviewed = Product.objects.filter(review_count__gt=0).first()
    assert reviewed.rating_avg is not None


def test_seed_demo_if_empty_does_nothing_when_products_exist():
    # Given a seeded catalog
    seed("--products", "30")
    before = (Product.objects.count(), Review.objects.count(), User.objects.count())

    # When it is seeded again with --if-empty and another size
    output = seed("--products", "80", "--if-empty")

    # Then nothing changed
    assert (Product.objects.count(), Review.objects.count(), User.objects.count()) == before
    assert "nothing to do" in output


def test_seed_demo_as_serve_calls_it():
    # When `serve` seeds on first start (keyword options, silent), twice
    call_command("seed_demo", products=25, if_empty=True, verbosity=0)
    call_command("seed_demo", products=25, if_empty=True, verbosity=0)

    # Then one catalog of that size exists
    assert Product.objects.count() == 25


def test_seed_demo_without_if_empty_is_an_idempotent_upsert():
    seed("--products", "40", "--seed", "2")
    before = sorted(Product.objects.values_list("sku", "price", "name"))
    output = seed("--products", "40", "--seed", "2")
    assert sorted(Product.objects.values_list("sku", "price", "name")) == before
    assert "products 0 created, 40 updated" in output


def test_seed_demo_nasty():
    seed("--products", "20", "--nasty")
    assert Product.objects.filter(price="0.01").exists()


def test_seed_demo_with_progress_bar(capsys):
    call_command("seed_demo", "--products", "5", stdout=io.StringIO())
    assert "seed_demo" in capsys.readouterr().err


def test_seed_demo_rejects_a_negative_size():
    with pytest.raises(CommandError, match="--products"):
        seed("--products", "-5")
