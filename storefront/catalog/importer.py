"""Catalog import: stream interchange lines into the database, batched, all or nothing.

`catalog_import()` reads lines one at a time (never the whole file), validates
each (format: `interchange`; cross-line and database rules: here) and upserts
in batches: categories by slug, products by sku, reviews by (product, author).
Reviewers are matched by e-mail whatever its case; missing ones become customer
accounts without a usable password.

The whole import is one transaction. Without `skip_invalid`, the first invalid
line raises `ImportLineError` (line number and reason) and nothing is written.
With it, invalid lines go to `on_reject` and the rest is imported; a product or
review whose category or product was rejected is rejected in turn.

Rules across lines: categories come first (each after its parent), then products,
then reviews; category slugs, skus, product slugs and (product, author) pairs
are unique within the file; a category's parent appears earlier in the file or
exists in the database; a product's slug may not belong to another sku in the
database; a review's product is in the file or the database (not soft-deleted).
Importing a soft-deleted product's sku restores it: the file says it exists.

Re-parenting an existing category rewrites the paths of its whole subtree
(descendants not in the file included) and is refused if it would create a
cycle or make the tree deeper than `CATEGORY_MAX_DEPTH`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from storefront.accounts.models import User
from storefront.accounts.roles import CUSTOMER
from storefront.catalog.cache import invalidate_catalog
from storefront.catalog.interchange import (
    CategoryRecord,
    LineError,
    ProductRecord,
    Record,
    ReviewRecord,
    parse_line,
)
from storefront.catalog.models import (
    CATEGORY_MAX_DEPTH,
    Category,
    Product,
    Review,
    category_path_for,
)
from storefront.catalog.services import product_ratings_recompute

BATCH_SIZE = 2000
# PostgreSQL writes products and reviews through COPY (see _Import._upsert);
# False sends them with bulk_create as on SQLite (tests cover both paths).
USE_COPY = True
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
_CATEGORY_UPDATE_FIELDS = ["name", "description", "parent", "path", "depth", "updated_at"]

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

    def as_dict(self) -> dict[str, int | float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
    run.result.seconds = round(time.monotonic() - started, 3)
    return run.result


def _staging_table(table: str) -> str:
    return connection.ops.quote_name(f"import_{table}")


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
class _Node:
    """A category as the import sees it: the database's tree with the file applied."""

    id: uuid.UUID
    slug: str
    parent: str | None
    name: str
    description: str
    path: str = ""
    depth: int = 0
    children: set[str] = field(default_factory=set)
    existed: bool = False
    in_file: bool = False
    db_state: tuple | None = None  # (parent slug, path, depth) as loaded


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
        self.tree = self._load_tree()
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
        self.staging_tables: set[str] = set()
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
        if self.staging_tables:
            # ON COMMIT DROP is not enough when our transaction is a savepoint
            # inside a longer one (which may import again).
            with connection.cursor() as cursor:
                for table in self.staging_tables:
                    cursor.execute(f"DROP TABLE {_staging_table(table)}")
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
            self._accept_category(record)
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

    # --- writing ---------------------------------------------------------------

    def _upsert(self, objs: list, *, unique_fields: list[str], update_fields: list[str]) -> None:
        """Insert `objs` (one model); rows clashing on `unique_fields` get `update_fields`.

        On PostgreSQL the rows go through COPY into a temporary table and one
        INSERT ... SELECT ... ON CONFLICT: the same statement bulk_create would
        send, without building and parsing a statement with 30,000 literals.
        Values are prepared by the fields themselves, as bulk_create does.
        """
        model = type(objs[0])
        if not (USE_COPY and connection.vendor == "postgresql"):
            model._base_manager.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=unique_fields,
                update_fields=update_fields,
            )
            return
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.generated]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        staging = _staging_table(meta.db_table)
        with connection.cursor() as cursor:
            if meta.db_table not in self.staging_tables:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608
                    f"SELECT {columns} FROM {connection.ops.quote_name(meta.db_table)} WITH NO DATA"
                )
                self.staging_tables.add(meta.db_table)
            with cursor.cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
                for obj in objs:
                    copy.write_row(
                        [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                    )
            conflict = ", ".join(
                connection.ops.quote_name(meta.get_field(name).column) for name in unique_fields
            )
            updates = ", ".join(
                f"{c} = EXCLUDED.{c}"
                for c in (
                    connection.ops.quote_name(meta.get_field(n).column) for n in update_fields
                )
            )
            cursor.execute(
                f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "  # noqa: S608
                f"SELECT {columns} FROM {staging} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
            )
            cursor.execute(f"TRUNCATE {staging}")

    # --- categories ------------------------------------------------------------

    def _load_tree(self) -> dict[str, _Node]:
        if connection.vendor == "postgresql":
            # Hold category writes (API moves included) until we commit: the
            # tree we validate against must stay the tree we write into.
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Category._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
        rows = list(
            Category.objects.values_list("id", "slug", "parent_id", "name", "description", "path")
        )
        slugs = {row[0]: row[1] for row in rows}
        tree: dict[str, _Node] = {}
        for id_, slug, parent_id, name, description, path in rows:
            parent = slugs.get(parent_id)
            tree[slug] = _Node(id=id_, slug=slug, parent=parent, name=name, description=description)
            tree[slug].existed = True
            tree[slug].db_state = (parent, path)
        for node in tree.values():
            if node.parent is not None:
                tree[node.parent].children.add(node.slug)
        for node in tree.values():
            if node.parent is None:
                self._place(tree, node, None)
        return tree

    @staticmethod
    def _place(tree: dict[str, _Node], node: _Node, parent: _Node | None) -> None:
        """Set path and depth of `node` and its subtree from `parent`."""
        stack = [(node, parent)]
        while stack:
            current, above = stack.pop()
            current.path = category_path_for(above, current.id)
            current.depth = 0 if above is None else above.depth + 1
            stack.extend((tree[child], current) for child in current.children)

    def _height(self, node: _Node) -> int:
        if not node.children:
            return 0
        return 1 + max(self._height(self.tree[child]) for child in node.children)

    def _accept_category(self, record: CategoryRecord) -> None:
        node = self.tree.get(record.slug)
        if node is not None and node.in_file:
            raise LineError(f"duplicate category slug {record.slug!r} in the file")
        parent = None
        if record.parent is not None:
            if record.parent == record.slug:
                raise LineError(f"category {record.slug!r} cannot be its own parent")
            parent = self.tree.get(record.parent)
            if parent is None:
                raise LineError(
                    f"unknown parent category {record.parent!r} "
                    "(not earlier in the file nor in the database)"
                )
            if node is not None and parent.path.startswith(node.path):
                raise LineError(
                    f"moving category {record.slug!r} under {record.parent!r} would "
                    "create a cycle (the parent is inside its subtree)"
                )
        depth = 0 if parent is None else parent.depth + 1
        height = 0 if node is None else self._height(node)
        if depth + height >= CATEGORY_MAX_DEPTH:
            raise LineError(
                f"category {record.slug!r} would be at depth {depth + height} "
                f"(with its subtree): the tree is at most {CATEGORY_MAX_DEPTH} levels deep"
            )
        if node is None:
            node = _Node(id=uuid.uuid4(), slug=record.slug, parent=None, name="", description="")
            self.tree[record.slug] = node
        if node.parent is not None:
            self.tree[node.parent].children.discard(node.slug)
        if parent is not None:
            parent.children.add(node.slug)
        node.parent = record.parent
        node.name = record.name
        node.description = record.description
        node.in_file = True
        self._place(self.tree, node, parent)

    def _write_categories(self) -> None:
        if self.categories_written:
            return
        self.categories_written = True
        # Parents first, so a new parent is inserted before its children.
        changed = sorted(
            (n for n in self.tree.values() if n.in_file or n.db_state != (n.parent, n.path)),
            key=lambda n: n.depth,
        )
        if not changed:
            return
        now = timezone.now()
        Category.objects.bulk_create(
            [
                Category(
                    id=n.id,
                    slug=n.slug,
                    name=n.name,
                    description=n.description,
                    parent_id=None if n.parent is None else self.tree[n.parent].id,
                    path=n.path,
                    depth=n.depth,
                    created_at=now,
                )
                for n in changed
            ],
            batch_size=self.batch_size,
            update_conflicts=True,
            unique_fields=["slug"],
            update_fields=_CATEGORY_UPDATE_FIELDS,
        )
        for n in changed:
            if n.in_file:
                if n.existed:
                    self.result.categories_updated += 1
                else:
                    self.result.categories_created += 1

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
                    category_id=self.tree[record.category].id,
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
            self._upsert(products, unique_fields=["sku"], update_fields=_PRODUCT_UPDATE_FIELDS)

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
        self._upsert(
            reviews, unique_fields=["product", "author"], update_fields=_REVIEW_UPDATE_FIELDS
        )
        self.reviewed_products.update(product_ids)
