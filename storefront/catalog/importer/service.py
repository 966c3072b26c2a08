"""The import run: the line loop, cross-line rules, products, reviews and reviewers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower

from storefront.accounts.models import User
from storefront.accounts.roles import CUSTOMER
from storefront.catalog.cache import invalidate_catalog
from storefront.catalog.importer.tree import CategoryTree
from storefront.catalog.importer.upsert import Upserter
from storefront.catalog.interchange import (
    CategoryRecord,
    LineError,
    ProductRecord,
    Record,
    ReviewRecord,
    parse_line,
)
from storefront.catalog.models import Category, Product, Review
from storefront.catalog.services import product_ratings_recompute

BATCH_SIZE = 2000
# Above this many products with changed reviews, one UPDATE over every product
# is cheaper than an IN list of ids.
RECOMPUTE_ALL_ABOVE = 5000

RejectHandler = Callable[[int, str, bytes | str], None]

_PRODUCT_UPDATE_FIELDS = [
    "slug",
    "name",
    "description",
    "category",
    "price",
    "currency",
    "stock",
    "is_active",
    "is_featured",
    "attributes",
    "created_at",
    "updated_at",
    "deleted_at",
]
_REVIEW_UPDATE_FIELDS = ["rating", "title", "body", "created_at", "updated_at"]

_CATEGORIES, _PRODUCTS, _REVIEWS = 0, 1, 2
_SECTION_NAMES = {_CATEGORIES: "category", _PRODUCTS: "product", _REVIEWS: "review"}


class ImportLineError(Exception):
    """An invalid line stopped the import; nothing was written."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass
class ImportResult:
    lines: int = 0
    categories_created: int = 0
    categories_updated: int = 0
    products_created: int = 0
    products_updated: int = 0
    reviews_created: int = 0
    reviews_updated: int = 0
    users_created: int = 0
    rejected: int = 0
    seconds: float = 0.0


def catalog_import(
    *,
    lines: Iterable[bytes | str],
    skip_invalid: bool = False,
    on_reject: RejectHandler | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Import interchange lines (bytes or str, newline optional) in one transaction."""
    started = time.monotonic()
    with transaction.atomic():
        run = _Import(skip_invalid=skip_invalid, on_reject=on_reject, batch_size=batch_size)
        run.feed(lines)
        run.finish()
    _analyze()
    run.result.seconds = round(time.monotonic() - started, 3)
    return run.result


def _analyze() -> None:
    """Refresh the planner's statistics of the tables an import fills.

    Measured (docs/performance.md): right after a 100k-product import the
    product list's page 1 took 427 ms on stale statistics and 0.5 ms after
    ANALYZE; autovacuum would get there, but only some time later.
    """
    if connection.vendor != "postgresql":
        return
    tables = [model._meta.db_table for model in (Category, Product, Review, User)]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))


def _named_key(raw: bytes | str) -> tuple[str, str] | None:
    """("category", slug) or ("product", sku) of a rejected line, if it names one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind, key = data.get("type"), data.get("slug" if data.get("type") == "category" else "sku")
    if kind in ("category", "product") and isinstance(key, str):
        return kind, key
    return None


@dataclass(slots=True)
class _Pending:
    line: int
    raw: bytes | str
    record: Record


class _Import:
    def __init__(self, *, skip_invalid: bool, on_reject: RejectHandler | None, batch_size: int):
        self.skip_invalid = skip_invalid
        self.on_reject = on_reject
        self.batch_size = batch_size
        self.result = ImportResult()
        self.section = _CATEGORIES
        self.batch: list[_Pending] = []
        self.rejects: list[tuple[int, str, bytes | str]] = []
        self.tree = CategoryTree()
        self.upserter = Upserter()
        self.categories_written = False
        # Products of the file: sku -> id once written; slugs and skus ever seen.
        self.product_ids: dict[str, uuid.UUID] = {}
        self.file_skus: set[str] = set()
        self.file_slugs: set[str] = set()
        # Products only in the database, as reviews reference them (None: not found).
        self.db_product_ids: dict[str, uuid.UUID | None] = {}
        # (product, author) pairs of the file, as small ints: exact and compact.
        self.sku_numbers: dict[str, int] = {}
        self.author_numbers: dict[str, int] = {}
        self.review_pairs: set[int] = set()
        self.user_ids: dict[str, uuid.UUID] = {}  # lower-case e-mail -> id
        self.customer_group: Group | None = None
        self.reviewed_products: set[uuid.UUID] = set()
        self.created_products: set[uuid.UUID] = set()
        self.rejected_keys: set[tuple[str, str]] = set()  # ("category", slug), ("product", sku)

    # --- the line loop ---------------------------------------------------------

    def feed(self, lines: Iterable[bytes | str]) -> None:
        number = 0
        for number, raw in enumerate(lines, start=1):
            try:
                self._accept(number, raw, parse_line(raw))
            except LineError as exc:
                self._reject(number, raw, str(exc))
            if len(self.batch) >= self.batch_size:
                self._flush()
        self.result.lines = number

    def finish(self) -> None:
        self._flush()
        self._write_categories()
        self.upserter.close()
        if self.reviewed_products:
            ids = self.reviewed_products
            product_ratings_recompute(product_ids=None if len(ids) > RECOMPUTE_ALL_ABOVE else ids)
        # No ids: an import may touch every product, so one bump of the epoch
        # (every cached list and detail) beats a bump per product.
        invalidate_catalog()

    def _reject(self, line: int, raw: bytes | str, reason: str) -> None:
        if not self.skip_invalid:
            raise ImportLineError(line, reason)
        self.result.rejected += 1
        self.rejects.append((line, reason, raw))
        # Remember what the line named, so lines that depend on it say why they fail.
        # (A rejected duplicate does not count: the first line with that key stands.)
        key = _named_key(raw)
        if key is not None and not self._accepted(*key):
            self.rejected_keys.add(key)

    def _accepted(self, kind: str, key: str) -> bool:
        if kind == "product":
            return key in self.file_skus
        node = self.tree.get(key)
        return node is not None and node.in_file

    def _accept(self, line: int, raw: bytes | str, record: Record) -> None:
        section = {CategoryRecord: _CATEGORIES, ProductRecord: _PRODUCTS, ReviewRecord: _REVIEWS}[
            type(record)
        ]
        if section < self.section:
            raise LineError(
                f"{_SECTION_NAMES[section]} line after {_SECTION_NAMES[self.section]} lines "
                "(categories, parents first, then products, then reviews)"
            )
        if section > self.section:
            self._flush()
            if self.section == _CATEGORIES:
                self._write_categories()
            self.section = section
        if section == _CATEGORIES:
            self.tree.accept(record)
        elif section == _PRODUCTS:
            self._accept_product(line, raw, record)
        else:
            self._accept_review(line, raw, record)

    def _flush(self) -> None:
        batch, self.batch = self.batch, []
        if batch:
            if self.section == _PRODUCTS:
                self._write_products(batch)
            else:
                self._write_reviews(batch)
        if self.rejects:
            # Rejects of a batch come from reading and from writing: report them in line order.
            for line, reason, raw in sorted(self.rejects, key=lambda r: r[0]):
                if self.on_reject is not None:
                    self.on_reject(line, reason, raw)
            self.rejects.clear()

    def _write_categories(self) -> None:
        if self.categories_written:
            return
        self.categories_written = True
        created, updated = self.tree.write(batch_size=self.batch_size)
        self.result.categories_created += created
        self.result.categories_updated += updated

    # --- products --------------------------------------------------------------

    def _accept_product(self, line: int, raw: bytes | str, record: ProductRecord) -> None:
        if record.sku in self.file_skus:
            raise LineError(f"duplicate sku {record.sku!r} in the file")
        if record.slug in self.file_slugs:
            raise LineError(f"duplicate product slug {record.slug!r} in the file")
        if record.category not in self.tree:
            why = (
                " (its line was rejected)"
                if ("category", record.category) in self.rejected_keys
                else ""
            )
            raise LineError(f"unknown category {record.category!r}{why}")
        self.file_skus.add(record.sku)
        self.file_slugs.add(record.slug)
        self.batch.append(_Pending(line, raw, record))

    def _write_products(self, batch: list[_Pending]) -> None:
        skus = [p.record.sku for p in batch]
        slugs = [p.record.slug for p in batch]
        existing_ids: dict[str, uuid.UUID] = {}
        slug_owners: dict[str, str] = {}
        for id_, sku, slug in Product.all_objects.filter(
            Q(sku__in=skus) | Q(slug__in=slugs)
        ).values_list("id", "sku", "slug"):
            existing_ids[sku] = id_
            slug_owners[slug] = sku
        products = []
        for pending in batch:
            record: ProductRecord = pending.record
            owner = slug_owners.get(record.slug)
            if owner is not None and owner != record.sku:
                self._reject(
                    pending.line,
                    pending.raw,
                    f"product slug {record.slug!r} already belongs to sku {owner!r}",
                )
                continue
            id_ = existing_ids.get(record.sku)
            if id_ is None:
                id_ = uuid.uuid4()
                self.created_products.add(id_)
                self.result.products_created += 1
            else:
                self.result.products_updated += 1
            self.product_ids[record.sku] = id_
            products.append(
                Product(
                    id=id_,
                    sku=record.sku,
                    slug=record.slug,
                    name=record.name,
                    description=record.description,
                    category_id=self.tree.get(record.category).id,
                    price=record.price,
                    currency=record.currency,
                    stock=record.stock,
                    is_active=record.is_active,
                    is_featured=record.is_featured,
                    attributes=record.attributes,
                    created_at=record.created_at.astimezone(UTC),
                    deleted_at=None,
                )
            )
        if products:
            self.upserter.upsert(
                products, unique_fields=["sku"], update_fields=_PRODUCT_UPDATE_FIELDS
            )

    # --- reviews ---------------------------------------------------------------

    def _number(self, numbers: dict[str, int], key: str) -> int:
        number = numbers.get(key)
        if number is None:
            number = numbers[key] = len(numbers)
        return number

    def _accept_review(self, line: int, raw: bytes | str, record: ReviewRecord) -> None:
        if (record.product in self.file_skus and record.product not in self.product_ids) or (
            "product",
            record.product,
        ) in self.rejected_keys:
            raise LineError(f"unknown product sku {record.product!r} (its line was rejected)")
        pair = (self._number(self.sku_numbers, record.product) << 32) | self._number(
            self.author_numbers, record.author.lower()
        )
        if pair in self.review_pairs:
            raise LineError(
                f"duplicate review of {record.product!r} by {record.author!r} in the file"
            )
        self.review_pairs.add(pair)
        self.batch.append(_Pending(line, raw, record))

    def _resolve_db_products(self, skus: set[str]) -> None:
        missing = [s for s in skus if s not in self.product_ids and s not in self.db_product_ids]
        if not missing:
            return
        found = dict(Product.objects.filter(sku__in=missing).values_list("sku", "id"))
        for sku in missing:
            self.db_product_ids[sku] = found.get(sku)

    def _resolve_authors(self, emails: dict[str, str]) -> None:
        """Fill user_ids for these lower-case e-mails, creating missing customers."""
        missing = [e for e in emails if e not in self.user_ids]
        if not missing:
            return
        self.user_ids.update(
            User.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=missing)
            .values_list("email_lower", "id")
        )
        new_users = []
        for email_lower in missing:
            if email_lower not in self.user_ids:
                user = User(email=User.objects.normalize_email(emails[email_lower]))
                user.set_unusable_password()
                new_users.append(user)
                self.user_ids[email_lower] = user.id
        if new_users:
            User.objects.bulk_create(new_users)
            if self.customer_group is None:
                self.customer_group, _ = Group.objects.get_or_create(name=CUSTOMER)
            membership = User.groups.through
            membership.objects.bulk_create(
                [membership(user_id=u.id, group_id=self.customer_group.id) for u in new_users]
            )
            self.result.users_created += len(new_users)

    def _write_reviews(self, batch: list[_Pending]) -> None:
        self._resolve_db_products({p.record.product for p in batch})
        accepted: list[tuple[ReviewRecord, uuid.UUID]] = []
        for pending in batch:
            record: ReviewRecord = pending.record
            product_id = self.product_ids.get(record.product) or self.db_product_ids.get(
                record.product
            )
            if product_id is None:
                self._reject(
                    pending.line,
                    pending.raw,
                    f"unknown product sku {record.product!r} (not in the file nor the database)",
                )
                continue
            accepted.append((record, product_id))
        if not accepted:
            return
        self._resolve_authors({r.author.lower(): r.author for r, _ in accepted})
        rows = [(r, pid, self.user_ids[r.author.lower()]) for r, pid in accepted]
        product_ids = {pid for _, pid, _ in rows}
        # Products this import created have no reviews but ours: ask only about the others.
        old_products = product_ids - self.created_products
        existing = set()
        if old_products:
            existing = set(
                Review.objects.filter(
                    product_id__in=old_products,
                    author_id__in={aid for _, pid, aid in rows if pid in old_products},
                ).values_list("product_id", "author_id")
            )
        reviews = []
        for record, product_id, author_id in rows:
            if (product_id, author_id) in existing:
                self.result.reviews_updated += 1
            else:
                self.result.reviews_created += 1
            reviews.append(
                Review(
                    product_id=product_id,
                    author_id=author_id,
                    rating=record.rating,
                    title=record.title,
                    body=record.body,
                    created_at=record.created_at.astimezone(UTC),
                )
            )
        self.upserter.upsert(
            reviews, unique_fields=["product", "author"], update_fields=_REVIEW_UPDATE_FIELDS
        )
        self.reviewed_products.update(product_ids)
