"""Specification of the demo catalog generator and `manage.py generate_catalog`.

Same arguments, same bytes; every line valid for the importer; a three-level
tree of about one category per 200 products; skewed reviews; --nasty adds
hostile strings and edge values without breaking validity.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from storefront.catalog.generator import HOSTILE, _Generator, catalog_lines
from storefront.catalog.importer import catalog_import
from storefront.catalog.interchange import CategoryRecord, ProductRecord, parse_line
from storefront.catalog.models import Category, Product, Review


def digest(**kwargs) -> str:
    sha = hashlib.sha256()
    for line in catalog_lines(**kwargs):
        sha.update(line.encode() + b"\n")
    return sha.hexdigest()


def test_same_seed_gives_the_same_bytes():
    assert digest(products=300, seed=3, nasty=True) == digest(products=300, seed=3, nasty=True)


def test_a_different_seed_or_mode_gives_other_bytes():
    base = digest(products=300, seed=3)
    assert digest(products=300, seed=4) != base
    assert digest(products=300, seed=3, nasty=True) != base


def test_every_line_passes_the_format_validation():
    for nasty in (False, True):
        for line in catalog_lines(products=400, seed=1, nasty=nasty):
            parse_line(line)  # raises on an invalid line


def test_tree_has_three_levels_and_about_one_category_per_200_products():
    records = [parse_line(line) for line in catalog_lines(products=4000, seed=1)]
    categories = [r for r in records if isinstance(r, CategoryRecord)]
    by_slug = {c.slug: c for c in categories}

    def depth(c: CategoryRecord) -> int:
        return 0 if c.parent is None else 1 + depth(by_slug[c.parent])

    assert {depth(c) for c in categories} == {0, 1, 2}
    assert 15 <= len(categories) <= 25  # 4000 / 200 = 20
    # Products sit in leaves only
    leaves = {c.slug for c in categories if depth(c) == 2}
    products = [r for r in records if isinstance(r, ProductRecord)]
    assert len(products) == 4000
    assert {p.category for p in products} <= leaves


def test_large_catalogs_scale_the_tree():
    # (the tree alone: generating 100k products takes seconds)
    tree = list(_Generator(random.Random(1), nasty=False).categories(100_000))
    assert 450 <= len(tree) <= 550
    assert {depth for depth, _, _ in tree} == {0, 1, 2}


def test_reviews_are_skewed():
    counts = Counter(
        json.loads(line)["product"]
        for line in catalog_lines(products=2000, seed=2)
        if line.startswith('{"type":"review"')
    )
    reviewed = len(counts)
    assert 2000 - reviewed > 200  # some products have no reviews
    assert max(counts.values()) >= 100  # a few have hundreds
    assert sorted(counts.values())[len(counts) // 2] <= 5  # most a handful


def test_nasty_mode_has_hostile_strings_and_edge_values():
    text = "\n".join(catalog_lines(products=500, seed=1, nasty=True))
    records = [parse_line(line) for line in text.split("\n")]
    products = [r for r in records if isinstance(r, ProductRecord)]
    prices = {p.price for p in products}
    assert {str(p) for p in prices} >= {"0.01", "99999999.99"}
    assert max(len(p.description) for p in products) > 100_000
    assert any(p.stock == 2**31 - 1 for p in products)
    assert any(p.attributes.get("serial") == 2**53 + 1 for p in products)
    assert any(not p.slug.isascii() for p in products)
    found = sum(1 for bad in HOSTILE if json.dumps(bad, ensure_ascii=False)[1:-1] in text)
    assert found >= len(HOSTILE) - 2


@pytest.mark.django_db
def test_generated_catalog_imports_without_rejects():
    # When a nasty catalog is imported strictly (any invalid line would raise)
    result = catalog_import(lines=catalog_lines(products=300, seed=9, nasty=True))

    # Then everything is in
    assert result.rejected == 0
    assert Product.objects.count() == 300
    assert Category.objects.count() == result.categories_created
    assert Review.objects.count() == result.reviews_created > 0


def test_generate_catalog_command_writes_the_same_bytes_to_a_file_and_stdout(tmp_path):
    target = tmp_path / "c.jsonl"
    call_command("generate_catalog", str(target), products=50, seed=7, nasty=True)
    out = io.StringIO()
    call_command("generate_catalog", "--products", "50", "--seed", "7", "--nasty", stdout=out)
    assert target.read_text(encoding="utf-8") == out.getvalue()
    assert out.getvalue() == "".join(
        f"{line}\n" for line in catalog_lines(products=50, seed=7, nasty=True)
    )


def test_generate_catalog_to_the_real_standard_output(capfdbinary):
    call_command("generate_catalog", "--products", "5", "--nasty")
    expected = "".join(f"{line}\n" for line in catalog_lines(products=5, seed=1, nasty=True))
    assert capfdbinary.readouterr().out == expected.encode()


def test_generate_catalog_rejects_bad_arguments(tmp_path):
    with pytest.raises(CommandError, match="--products"):
        call_command("generate_catalog", "--products", "-1")
    with pytest.raises(CommandError, match="cannot write"):
        call_command("generate_catalog", str(tmp_path / "no" / "such.jsonl"))
