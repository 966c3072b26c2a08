"""`manage.py seed_demo --products N [--seed S] [--if-empty]`: load a demo catalog.

Generates a catalog (storefront.catalog.generator) and feeds it straight into
the importer, so demo data takes the same code path as any import. With
--if-empty it does nothing when the database already has products (what
`manage.py serve` uses on every start).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from storefront.catalog.generator import catalog_lines
from storefront.catalog.importer import catalog_import
from storefront.catalog.management.commands.import_catalog import summary
from storefront.catalog.models import Product


class Command(BaseCommand):
    help = "Load a generated demo catalog (categories, products, reviews, reviewers)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--products", type=int, default=200)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--nasty", action="store_true", help="Mix in hostile strings and edge values."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if any product exists."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options) -> None:
        if options["products"] < 0:
            raise CommandError("--products must be 0 or more.")
        if options["if_empty"] and Product.all_objects.exists():
            if options["verbosity"] > 0:
                self.stdout.write("The catalog already has products: nothing to do.")
            return
        progress = not options["no_progress"] and options["verbosity"] > 0
        lines = catalog_lines(
            products=options["products"], seed=options["seed"], nasty=options["nasty"]
        )
        with tqdm(
            lines, unit=" lines", desc="seed_demo", disable=not progress, file=sys.stderr
        ) as bar:
            result = catalog_import(lines=bar)
        if options["verbosity"] > 0:
            self.stdout.write(summary(result))
