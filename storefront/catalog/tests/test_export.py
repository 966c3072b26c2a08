"""Specification of `manage.py export_catalog` and the import/export round trip.

The export is the interchange format in a deterministic order (categories by
depth then slug, products by sku, reviews by product sku then author), with
timestamps in UTC. Exporting an import of a file F gives F in canonical form
(`interchange.canonical`); importing an export into an empty database and
exporting again gives the same bytes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from storefront.accounts.models import User
from storefront.catalog.generator import catalog_lines
from storefront.catalog.interchange import canonical
from storefront.catalog.models import Category, Product, Review

pytestmark = pytest.mark.django_db

VALID = Path(__file__).parent / "data" / "valid.jsonl"


def import_file(path: Path) -> None:
    call_command("import_catalog", str(path), "--no-progress", verbosity=0)


def export() -> str:
    out = io.StringIO()
    call_command("export_catalog", stdout=out)
    return out.getvalue()


def empty_the_catalog() -> None:
    Review.objects.all().delete()
    Product.all_objects.all().hard_delete()
    for depth in sorted(set(Category.objects.values_list("depth", flat=True)), reverse=True):
        Category.objects.filter(depth=depth).delete()
    User.objects.all().delete()


def test_export_of_an_import_is_the_file_in_canonical_form():
    # Given the valid file (in export order, with assorted UTC offsets) imported
    import_file(VALID)

    # When the catalog is exported
    exported = export()

    # Then each line is the file's line in canonical form: timestamps in UTC
    expected = [canonical(line) for line in VALID.read_bytes().splitlines()]
    assert exported.splitlines() == expected
    assert '"created_at":"2024-03-01T08:00:00+00:00"' in exported
    assert exported.endswith("\n")


def test_export_order_is_parents_first_then_skus_then_authors():
    import_file(VALID)
    lines = [canonical(line) for line in export().splitlines()]
    slugs = [line.split('"slug":"')[1].split('"')[0] for line in lines if '"category"' in line[:20]]
    # depth 0 (home, outdoors), then kitchen, then cookware
    assert slugs == ["home", "outdoors", "kitchen", "cookware"]


def test_export_leaves_out_soft_deleted_products_and_their_reviews():
    # Given a catalog where one reviewed product was soft-deleted
    import_file(VALID)
    Product.objects.get(sku="HOM-0001").delete()

    # When it is exported
    exported = export()

    # Then neither the product nor its reviews are in the export
    assert "HOM-0001" not in exported
    assert "HOM-0002" in exported
    assert exported.count('"type":"review"') == 2


@pytest.mark.django_db(transaction=True)
def test_export_outside_a_transaction_reads_one_snapshot():
    # Given a committed catalog and no transaction around the export
    import_file(VALID)

    # When it is exported (its own REPEATABLE READ, read-only transaction)
    exported = export()

    # Then it is complete
    assert exported.count("\n") == 11


def test_export_to_a_file(tmp_path):
    import_file(VALID)
    target = tmp_path / "out.jsonl"
    err = io.StringIO()
    call_command("export_catalog", str(target), stderr=err)
    assert target.read_text(encoding="utf-8") == export()
    assert "Exported 4 categories, 3 products, 4 reviews" in err.getvalue()


def test_export_to_an_unwritable_path_fails_cleanly(tmp_path):
    with pytest.raises(CommandError, match="cannot write"):
        call_command("export_catalog", str(tmp_path / "missing" / "out.jsonl"))


def test_export_to_the_real_standard_output_is_utf8(capfdbinary):
    # Given a product with non-ASCII text
    import_file(VALID)
    Product.objects.filter(sku="HOM-0001").update(name="Poêle 🍳")

    # When the export goes to the process's standard output
    call_command("export_catalog")

    # Then the bytes are UTF-8, as in a file
    assert "Poêle 🍳".encode() in capfdbinary.readouterr().out


def test_nasty_generated_catalog_round_trips_byte_for_byte(tmp_path):
    # Given a generated catalog full of hostile strings and edge values
    source = tmp_path / "nasty.jsonl"
    source.write_text(
        "".join(f"{line}\n" for line in catalog_lines(products=300, seed=5, nasty=True)),
        encoding="utf-8",
    )

    # When it is imported and exported
    import_file(source)
    first = export()

    # Then the export is the file in canonical form, line for line
    # (split on "\n" only: U+2028 and U+0085 inside strings are not line ends)
    assert first.split("\n")[:-1] == [
        canonical(line) for line in source.read_bytes().split(b"\n")[:-1]
    ]

    # And when that export is imported into an empty catalog and exported again
    empty_the_catalog()
    exported_file = tmp_path / "first.jsonl"
    exported_file.write_text(first, encoding="utf-8")
    import_file(exported_file)
    second = export()

    # Then the two exports are byte-identical
    assert second.encode() == first.encode()


def test_hostile_strings_survive_the_round_trip_exactly(tmp_path):
    # Given a product named with characters that JSON and line-splitting get wrong
    name = 'sep\u2028para\u2029nel\u0085 "q" \\b\\ \ufeff\x07 <b>&amp;</b> \'--'
    line = (
        '{"type":"category","slug":"c","name":"C","parent":null,"description":""}\n'
        '{"type":"product","sku":"S","slug":"s","name":' + _json(name) + ',"description":"",'
        '"category":"c","price":"1.00","currency":"USD","stock":0,"is_active":true,'
        '"is_featured":false,"attributes":{},"created_at":"2024-01-01T00:00:00+00:00"}\n'
    )
    source = tmp_path / "s.jsonl"
    source.write_bytes(line.encode())

    # When it is imported and exported
    import_file(source)
    exported = export()

    # Then the name is stored and exported exactly, and the export is still one object a line
    assert Product.objects.get().name == name
    assert exported.encode() == line.encode()


def _json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
