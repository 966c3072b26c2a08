"""Catalog data: the category tree, products with images, and reviews.

Invariants live in the database where it can hold them (check and unique
constraints); tree rules that span rows (no cycles, bounded depth) are enforced
by `Category.clean()` and the services that move categories.

The tree is a materialised path: `path` is the chain of ancestor ids ending
with the category's own ("<root>/<child>/<self>/"), so a whole subtree is one
indexed prefix match, in one SQL statement, at any depth.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connections, models
from django.db.models import Q

from storefront.core.models import BaseModel, SoftDeleteModel, SoftDeleteQuerySet

CATEGORY_MAX_DEPTH = getattr(settings, "CATEGORY_MAX_DEPTH", 5)
PRICE_MAX_DIGITS = 12
PRICE_DECIMAL_PLACES = 2
PRICE_MIN = Decimal("0.01")

currency_validator = RegexValidator(r"^[A-Z]{3}\Z", "Use an ISO 4217 code such as USD or EUR.")


def category_path_for(parent: Category | None, category_id: uuid.UUID) -> str:
    """The materialised path of a category with this id under `parent`.

    The one place that formats paths: the parent's path (empty for a root)
    followed by the category's own id as 32 hex digits and a slash, e.g.
    "<root hex>/<child hex>/<self hex>/". Services, the importer and tests use
    it so every writer produces the same strings.
    """
    return f"{parent.path if parent is not None else ''}{category_id.hex}/"


class CategoryQuerySet(models.QuerySet):
    def subtree_of(self, category: Category) -> CategoryQuerySet:
        """The category and all its descendants (one indexed prefix match)."""
        return self.filter(path__startswith=category.path)

    def nodes_on_paths(self, categories: Iterable[Category]) -> dict[uuid.UUID, Category]:
        """Every category on the paths of `categories` (ancestors and themselves),
        by id, in one query whatever their number and depth."""
        ids = {uuid.UUID(part) for c in categories for part in c.path.split("/") if part}
        if not ids:
            return {}
        return {c.id: c for c in self.filter(id__in=ids).only("id", "slug", "name", "path")}


class Category(BaseModel):
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Maintained by the services (category_create / category_update), never by hand.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "categories"
        indexes = [
            # Prefix matches (subtree reads) on PostgreSQL whatever the collation.
            models.Index(
                fields=["path"],
                name="catalog_category_path_like",
                opclasses=["varchar_pattern_ops"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="catalog_category_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def path_refs(self, nodes: dict[uuid.UUID, Category] | None = None) -> list[dict[str, str]]:
        """The category and its ancestors from the root, as {slug, name}; `nodes` is
        `nodes_on_paths` of a batch including this category (else one query)."""
        if nodes is None:
            nodes = Category.objects.nodes_on_paths([self])
        return [
            {"slug": node.slug, "name": node.name}
            for node in (nodes.get(uuid.UUID(part)) for part in self.path.split("/") if part)
            if node is not None
        ]

    def clean(self) -> None:
        super().clean()
        if self.parent_id is None:
            return
        if self.parent_id == self.id:
            raise ValidationError({"parent": "A category cannot be its own parent."})
        parent = self.parent
        if self.path and parent.path.startswith(self.path):
            raise ValidationError({"parent": "A category cannot move under its own descendant."})
        subtree_height = 0
        if self.path:
            deepest = (
                Category.objects.filter(path__startswith=self.path)
                .order_by("-depth")
                .values_list("depth", flat=True)
                .first()
            )
            subtree_height = (deepest or self.depth) - self.depth
        if parent.depth + 1 + subtree_height >= CATEGORY_MAX_DEPTH:
            raise ValidationError(
                {"parent": f"The category tree is at most {CATEGORY_MAX_DEPTH} levels deep."}
            )


def sees_inactive_products(user) -> bool:
    """Staff read inactive products too; everyone else reads active ones only."""
    return user is not None and user.is_authenticated and user.is_staff


class ProductQuerySet(SoftDeleteQuerySet):
    """Deletes are soft (inherited), as on the model itself."""

    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)

    def visible_to(self, user) -> ProductQuerySet:
        """What `user` may read: staff see inactive products, everyone else only active ones.

        Soft-deleted products are already hidden by the default manager.
        """
        if sees_inactive_products(user):
            return self
        return self.active()

    def for_listing(self) -> ProductQuerySet:
        """Everything a product representation needs, in a fixed number of queries:
        the product joined to its category, then one query for all the images."""
        return self.select_related("category").prefetch_related("images")

    def in_category_tree(self, slug: str) -> ProductQuerySet:
        """Products of the category `slug` and of all its descendants.

        One statement: the category's path is read by a subquery and matched as a
        prefix of the product's category path (an unknown slug matches nothing).
        """
        root_path = Category.objects.filter(slug=slug).values("path")[:1]
        return self.filter(category__path__startswith=models.Subquery(root_path))

    def search(self, text: str) -> ProductQuerySet:
        """Full-text search with typo tolerance; see `storefront.catalog.search`."""
        from storefront.catalog.search import product_search

        return product_search(self, text)


# One product as `Product.as_row()` gives it, in one statement (PostgreSQL): the
# product joined to its category, its images and (second form) the category's
# path from the root as JSON arrays. Same rows as
# `visible_to(user).for_listing().get(pk=...)`: never a deleted product, an
# inactive one only when the second parameter (staff) is true; images in
# ProductImage.Meta.ordering; path nodes in the order of the category's path.
# Hand-written: compiling the two or three statements the ORM needs for this
# (and building the instances) cost more than running them (docs/performance.md,
# findings 9, 13 and 15); the parity tests in tests/test_serializers.py hold the
# two to the same dict.
_ROW_SQL = """
SELECT p.id, p.sku, p.slug, p.name, p.description, c.slug, p.price, p.currency,
       p.stock, p.is_active, p.is_featured, p.rating_avg, p.review_count,
       p.created_at, p.updated_at, p.attributes,
       ARRAY(SELECT json_build_object('id', i.id, 'url', i.url, 'file', i.file,
                                      'alt_text', i.alt_text, 'position', i.position)
             FROM catalog_productimage i WHERE i.product_id = p.id
             ORDER BY i.position, i.created_at){path}
FROM catalog_product p JOIN catalog_category c ON c.id = p.category_id
WHERE p.id = %s AND p.deleted_at IS NULL AND (p.is_active OR %s)
"""
_ROW_PATH_SQL = """,
       ARRAY(SELECT json_build_object('slug', a.slug, 'name', a.name)
             FROM catalog_category a
             WHERE a.id = ANY(string_to_array(rtrim(c.path, '/'), '/')::uuid[])
             ORDER BY array_position(string_to_array(rtrim(c.path, '/'), '/')::uuid[], a.id))"""
_ROW_FIELDS = (
    *("id", "sku", "slug", "name", "description", "category_slug", "price", "currency"),
    *("stock", "is_active", "is_featured", "rating_avg", "review_count", "created_at"),
    *("updated_at", "attributes", "images"),
)


class ProductManager(models.Manager.from_queryset(ProductQuerySet)):
    def get_queryset(self) -> ProductQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)

    def row_visible_to(
        self, user, pk: uuid.UUID, *, category_path: bool = False
    ) -> dict[str, Any] | None:
        """The product `pk` as `Product.as_row(category_path=...)` gives it, if `user`
        may read it (`visible_to`), else None: one SQL statement on PostgreSQL,
        no model instances. Elsewhere (the embedded SQLite mode) it is read
        through the ORM, as `visible_to(user).for_listing()` reads it."""
        connection = connections[self.db]
        if connection.vendor != "postgresql":
            product = self.visible_to(user).for_listing().filter(pk=pk).first()
            return None if product is None else product.as_row(category_path=category_path)
        sql = _ROW_SQL.format(path=_ROW_PATH_SQL if category_path else "")
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk, sees_inactive_products(user)])
            record = cursor.fetchone()
        if record is None:
            return None
        row = dict(zip(_ROW_FIELDS, record[: len(_ROW_FIELDS)], strict=True))
        # jsonb comes back as text, as the ORM reads it: decode it as the field does.
        row["attributes"] = self.model._meta.get_field("attributes").from_db_value(
            row["attributes"], None, connection
        )
        row["images"] = [
            {
                "id": uuid.UUID(image["id"]),
                "url": image["url"],
                "file": image["file"],
                "alt_text": image["alt_text"],
                "position": image["position"],
            }
            for image in row["images"]
        ]
        if category_path:
            row["category_path"] = [{"slug": n["slug"], "name": n["name"]} for n in record[-1]]
        return row


class Product(SoftDeleteModel):
    sku = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=255, unique=True, allow_unicode=True)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS,
        decimal_places=PRICE_DECIMAL_PLACES,
        validators=[MinValueValidator(PRICE_MIN)],
    )
    currency = models.CharField(max_length=3, default="USD", validators=[currency_validator])
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    is_active = models.BooleanField(default=True)
    is_featured = models.BooleanField(default=False)
    attributes = models.JSONField(default=dict, blank=True)
    # Denormalised from reviews, written in the same transaction as every
    # review write (services.review_*), so lists sort and filter by rating
    # through an index instead of aggregating per row.
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    review_count = models.PositiveIntegerField(default=0)

    objects = ProductManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["category", "-created_at"], name="catalog_prod_cat_created"),
            models.Index(fields=["price"], name="catalog_prod_price"),
            models.Index(fields=["name"], name="catalog_prod_name"),
            # ?ordering=rating (ASC NULLS LAST) scans this one backwards; ?ordering=-rating
            # (DESC NULLS LAST: unrated products last) uses catalog_prod_rating_nl, created
            # by migration 0002 on PostgreSQL only (SQLite has no NULLS LAST in indexes).
            models.Index(fields=["-rating_avg"], name="catalog_prod_rating"),
            # ?in_stock=true|false
            models.Index(fields=["stock"], name="catalog_prod_stock"),
            models.Index(
                fields=["-created_at"],
                name="catalog_prod_featured",
                condition=Q(is_featured=True, is_active=True, deleted_at__isnull=True),
            ),
            # The public list's order over the visible products only, id included:
            # deep pages skip their offset in this index alone (index-only scan),
            # see catalog/api/pagination.py.
            models.Index(
                fields=["-created_at", "-id"],
                name="catalog_prod_visible_new",
                condition=Q(is_active=True, deleted_at__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="catalog_product_price_positive"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="catalog_product_stock_gte_0"),
            models.CheckConstraint(
                condition=Q(rating_avg__isnull=True) | Q(rating_avg__gte=1, rating_avg__lte=5),
                name="catalog_product_rating_avg_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    def as_row(
        self,
        *,
        category_path: bool = False,
        category_nodes: dict[uuid.UUID, Category] | None = None,
    ) -> dict[str, Any]:
        """The product as plain values, what its representations are built from:
        its fields, `category_slug`, `images` (each {id, url, file, alt_text,
        position}, `file` being the stored name) and, with `category_path`, the
        category's `path_refs` (from `category_nodes` when given). The same dict
        as `Product.objects.row_visible_to` reads without model instances."""
        row = {
            "id": self.id,
            "sku": self.sku,
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "category_slug": self.category.slug,
            "price": self.price,
            "currency": self.currency,
            "stock": self.stock,
            "is_active": self.is_active,
            "is_featured": self.is_featured,
            "rating_avg": self.rating_avg,
            "review_count": self.review_count,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "attributes": self.attributes,
            "images": [
                {
                    "id": image.id,
                    "url": image.url,
                    "file": image.file.name,
                    "alt_text": image.alt_text,
                    "position": image.position,
                }
                for image in self.images.all()
            ],
        }
        if category_path:
            row["category_path"] = self.category.path_refs(category_nodes)
        return row


class ProductImage(BaseModel):
    """An image of a product: an external URL or a file kept in Django storage."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(default=0)
    url = models.URLField(max_length=500, blank=True)
    file = models.ImageField(upload_to="products/%Y/%m/", blank=True)
    alt_text = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["position", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(url="") & ~Q(file="")) | (~Q(url="") & Q(file="")),
                name="catalog_image_url_xor_file",
            ),
        ]

    def __str__(self) -> str:
        return self.alt_text or self.url or self.file.name


class Review(BaseModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "-created_at"], name="catalog_review_prod_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "author"], name="catalog_review_one_per_author"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="catalog_review_rating_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 on {self.product_id} by {self.author_id}"
