"""`manage.py import_catalog FILE`: load an interchange file (JSON Lines) into the catalog.

FILE "-" reads standard input. The import is one transaction: the first
invalid line stops it (exit code 1, line number and reason) and nothing is
written. With --skip-invalid the valid lines are imported and every rejected
line is written, as one JSON object {"line", "reason", "text"} per line, to
--rejects (default: FILE.rejects.jsonl next to the input, or standard error
when reading standard input; "-" means standard error too).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import BinaryIO, TextIO

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from storefront.catalog.importer import ImportLineError, ImportResult, catalog_import


class Command(BaseCommand):
    help = "Import a catalog file (JSON Lines interchange format): upsert, all or nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help='The file to import; "-" reads standard input.')
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid lines and write the invalid ones to --rejects.",
        )
        parser.add_argument(
            "--rejects",
            metavar="FILE",
            help='Where --skip-invalid writes rejected lines (default FILE.rejects.jsonl; "-": '
            "standard error).",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument("--batch-size", type=int, default=2000, help=argparse.SUPPRESS)

    def handle(self, *args, **options) -> None:
        path: str = options["file"]
        progress = not options["no_progress"] and options["verbosity"] > 0
        rejects_path = options["rejects"] or ("-" if path == "-" else f"{path}.rejects.jsonl")
        try:
            source: BinaryIO = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        rejects: TextIO | None = None
        try:
            if options["skip_invalid"]:
                rejects = (
                    sys.stderr
                    if rejects_path == "-"
                    else open(rejects_path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
                )
            total = None if path == "-" else os.fstat(source.fileno()).st_size
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc="import",
                disable=not progress,
                file=sys.stderr,
            ) as bar:
                result = catalog_import(
                    lines=_counted(source, bar),
                    skip_invalid=options["skip_invalid"],
                    on_reject=None if rejects is None else _reject_writer(rejects),
                    batch_size=options["batch_size"],
                )
        except ImportLineError as exc:
            raise CommandError(f"{path}: {exc} (nothing was imported)") from exc
        finally:
            if source is not sys.stdin.buffer:
                source.close()
            if rejects is not None and rejects is not sys.stderr:
                rejects.close()
        if options["verbosity"] > 0:
            self.stdout.write(summary(result))
            if result.rejected and rejects_path != "-":
                self.stdout.write(f"Rejected lines written to {rejects_path}")


def _counted(source: BinaryIO, bar: tqdm) -> Iterator[bytes]:
    for line in source:
        bar.update(len(line))
        yield line


def _reject_writer(out: TextIO):
    def write(line: int, reason: str, raw: bytes | str) -> None:
        text = raw.decode("utf-8", errors="backslashreplace") if isinstance(raw, bytes) else raw
        entry = {"line": line, "reason": reason, "text": text.rstrip("\r\n")}
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")

    return write


def summary(result: ImportResult) -> str:
    return (
        f"Imported {result.lines} lines in {result.seconds:.1f}s: "
        f"categories {result.categories_created} created, {result.categories_updated} updated; "
        f"products {result.products_created} created, {result.products_updated} updated; "
        f"reviews {result.reviews_created} created, {result.reviews_updated} updated; "
        f"users {result.users_created} created; {result.rejected} rejected."
    )
