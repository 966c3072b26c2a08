"""`manage.py export_catalog [FILE]`: write the catalog in the interchange format.

Writes to standard output when FILE is omitted or "-". See
storefront.catalog.exporter for the order and what is left out.
"""

from __future__ import annotations

import io
import sys

from django.core.management.base import BaseCommand, CommandError

from storefront.catalog.exporter import catalog_export


class Command(BaseCommand):
    help = "Export the catalog as JSON Lines (categories, products, reviews), deterministic."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", default="-", help="Output file (default stdout).")

    def handle(self, *args, **options) -> None:
        path: str = options["file"]
        if path != "-":
            try:
                out = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
            with out:
                result = catalog_export(out=out)
            if options["verbosity"] > 0:
                self.stderr.write(
                    f"Exported {result.categories} categories, {result.products} products, "
                    f"{result.reviews} reviews to {path}"
                )
            return
        if options.get("stdout") is None and hasattr(sys.stdout, "buffer"):
            # The real standard output: UTF-8 and "\n" whatever the locale says.
            out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
            try:
                catalog_export(out=out)
            finally:
                out.flush()
                out.detach()
        else:
            catalog_export(out=self.stdout)  # lines end with "\n": written as they are
