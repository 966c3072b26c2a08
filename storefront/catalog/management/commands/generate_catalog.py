"""`manage.py generate_catalog --products N --seed S [--nasty] [FILE]`: write a demo catalog.

The same arguments always give the same bytes (see storefront.catalog.generator).
Writes to standard output when FILE is omitted or "-".
"""

from __future__ import annotations

import io
import sys

from django.core.management.base import BaseCommand, CommandError

from storefront.catalog.generator import catalog_lines


class Command(BaseCommand):
    help = "Generate a deterministic demo catalog in the interchange format (JSON Lines)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", default="-", help="Output file (default stdout).")
        parser.add_argument("--products", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--nasty", action="store_true", help="Mix in hostile strings and edge values."
        )

    def handle(self, *args, **options) -> None:
        if options["products"] < 0:
            raise CommandError("--products must be 0 or more.")
        lines = catalog_lines(
            products=options["products"], seed=options["seed"], nasty=options["nasty"]
        )
        path = options["file"]
        if path != "-":
            try:
                out = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {exc.strerror}") from exc
        elif options.get("stdout") is None and hasattr(sys.stdout, "buffer"):
            # The real standard output: UTF-8 and "\n" whatever the locale says.
            out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
        else:
            out = self.stdout
        try:
            for line in lines:
                out.write(line + "\n")
        finally:
            if isinstance(out, io.TextIOWrapper) and path == "-":
                out.flush()
                out.detach()
            elif path != "-":
                out.close()
