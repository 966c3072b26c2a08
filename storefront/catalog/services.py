"""Catalog writes. Each owns its transaction and invalidates the read cache.

Every function here ends with `invalidate_catalog(...)` (directly or through
`product_ratings_recompute`), which bumps the cache generations once the
transaction commits: a rolled-back write never evicts anything, and a
committed one is never served stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count, F, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Concat, Round, Substr

from storefront.catalog.cache import invalidate_catalog
from storefront.catalog.models import (
    Category,
    Product,
    ProductImage,
    Review,
    category_path_for,
)
from storefront.core.exceptions import Conflict

# Any constant: the transaction-scoped advisory lock that serialises tree moves.
_CATEGORY_TREE_LOCK = 0x5F_CA7A_1065
_PATH_MAX_LENGTH = Category._meta.get_field("path").max_length


# --- categories ---------------------------------------------------------------


def lock_category_tree() -> None:
    """Serialise writes that change the tree's shape.

    Two concurrent moves (A under B, B under A) could each pass the cycle check
    against the other's old path; holding one lock while validating and
    writing makes the second see the first's result. SQLite serialises
    writers anyway (IMMEDIATE transactions).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CATEGORY_TREE_LOCK])


def _place(category: Category, parent: Category | None) -> None:
    """Validate `category` under `parent` (no cycle, bounded depth), then set path and depth.

    Category.clean() must see the category's current path (its subtree).
    """
    category.parent = parent
    category.clean()
    category.path = category_path_for(parent, category.id)
    category.depth = 0 if parent is None else parent.depth + 1
    if len(category.path) > _PATH_MAX_LENGTH:  # pragma: no cover - only with a huge max depth
        raise ValidationError({"parent": "The category tree is too deep to store."})


@transaction.atomic
def category_create(
    *, slug: str, name: str, description: str = "", parent: Category | None = None
) -> Category:
    """Create a category (a root when `parent` is None); path and depth follow the parent."""
    lock_category_tree()
    if parent is not None:
        parent = Category.objects.get(pk=parent.pk)  # its path as of the lock
    category = Category(slug=slug, name=name, description=description)
    _place(category, parent)
    try:
        with transaction.atomic():
            category.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent create took the slug
        raise Conflict("A category with this slug already exists.", code="slug_taken") from exc
    invalidate_catalog()
    return category


@transaction.atomic
def category_update(*, category: Category, **fields: Any) -> Category:
    """Change a category's slug, name, description and/or parent.

    Moving (a new `parent`) is validated against cycles and the maximum depth,
    then the whole subtree's paths and depths are rewritten in one UPDATE.
    Product details embed the category, so every cached read goes stale.
    """
    lock_category_tree()
    category = Category.objects.select_related("parent").get(pk=category.pk)
    old_path, old_depth = category.path, category.depth
    moving = "parent" in fields and (
        (fields["parent"].pk if fields["parent"] else None) != category.parent_id
    )
    for name in ("slug", "name", "description"):
        if name in fields:
            setattr(category, name, fields[name])
    if moving:
        parent = fields["parent"]
        _place(category, None if parent is None else Category.objects.get(pk=parent.pk))
    try:
        with transaction.atomic():
            category.save()
    except IntegrityError as exc:
        raise Conflict("A category with this slug already exists.", code="slug_taken") from exc
    if moving:
        # Descendants keep their suffix below the moved category; one statement.
        Category.objects.filter(path__startswith=old_path).exclude(pk=category.pk).update(
            path=Concat(Value(category.path), Substr("path", len(old_path) + 1)),
            depth=F("depth") + (category.depth - old_depth),
        )
    invalidate_catalog()
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete a category without children or products (soft-deleted ones count:
    they still reference it) -- else 409."""
    lock_category_tree()
    if Category.objects.filter(parent=category).exists():
        raise Conflict(
            "This category has subcategories; move or delete them first.",
            code="category_has_children",
        )
    if Product.all_objects.filter(category=category).exists():
        raise Conflict(
            "This category has products; move or delete them first.",
            code="category_has_products",
        )
    category.delete()
    invalidate_catalog()


# --- products -----------------------------------------------------------------

PRODUCT_FIELDS = frozenset(
    {
        "sku",
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
    }
)


def _save_product(product: Product, **save_kwargs: Any) -> None:
    try:
        with transaction.atomic():
            product.save(**save_kwargs)
    except IntegrityError as exc:  # unique sku/slug taken by a concurrent write
        raise Conflict(
            "A product with this SKU or slug already exists (deleted products keep theirs).",
            code="product_exists",
        ) from exc


@transaction.atomic
def product_create(**fields: Any) -> Product:
    """Create a product from validated fields (see PRODUCT_FIELDS)."""
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise TypeError(f"unknown product fields: {sorted(unknown)}")
    product = Product(**fields)
    _save_product(product, force_insert=True)
    invalidate_catalog(product_ids=[product.id])
    return product


@transaction.atomic
def product_update(*, product: Product, **fields: Any) -> Product:
    """Change some fields of a product (a PUT passes them all, a PATCH some)."""
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise TypeError(f"unknown product fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(product, name, value)
    _save_product(product)
    invalidate_catalog(product_ids=[product.id])
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Soft delete: the row stays (orders and reviews refer to it), hidden everywhere."""
    product.delete()
    invalidate_catalog(product_ids=[product.id])


@transaction.atomic
def product_set_featured(*, product: Product, featured: bool) -> Product:
    """Feature or unfeature a product (idempotent)."""
    if product.is_featured != featured:
        product.is_featured = featured
        product.save(update_fields=["is_featured", "updated_at"])
    invalidate_catalog(product_ids=[product.id])
    return product


@transaction.atomic
def product_image_add(
    *,
    product: Product,
    url: str = "",
    file: UploadedFile | None = None,
    alt_text: str = "",
    position: int | None = None,
) -> ProductImage:
    """Attach an image (an external URL xor an uploaded file); appended by default."""
    if bool(url) == bool(file):
        raise ValidationError("Give either an image URL or an image file, not both.")
    if position is None:
        last = product.images.aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    image = ProductImage(product=product, url=url, alt_text=alt_text, position=position)
    if file is not None:
        image.file = file
    image.save(force_insert=True)
    invalidate_catalog(product_ids=[product.id])
    return image


@transaction.atomic
def product_image_delete(*, image: ProductImage) -> None:
    """Remove an image; an uploaded file is removed from storage after commit."""
    product_id = image.product_id
    file = image.file if image.file else None
    image.delete()
    if file is not None:
        name, storage = file.name, file.storage
        transaction.on_commit(lambda: storage.delete(name))
    invalidate_catalog(product_ids=[product_id])


# --- reviews and ratings ----------------------------------------------------------


@transaction.atomic
def product_ratings_recompute(*, product_ids: Iterable[UUID] | None = None) -> int:
    """Recompute rating_avg and review_count from the reviews, in one UPDATE.

    `product_ids=None` recomputes every product (used after an import).
    Returns the number of products updated.
    """
    reviews = Review.objects.filter(product=OuterRef("pk")).values("product")
    avg = reviews.annotate(v=Round(Avg("rating"), 2)).values("v")
    count = reviews.annotate(c=Count("pk")).values("c")
    products = Product.all_objects.all()
    ids = None if product_ids is None else list(product_ids)
    if ids is not None:
        products = products.filter(pk__in=ids)
    updated = products.update(rating_avg=Subquery(avg), review_count=Coalesce(Subquery(count), 0))
    invalidate_catalog(product_ids=ids)
    return updated


def _lock_product_for_review(product_id: UUID) -> Product:
    """Lock the product row before a review write.

    Review writes on one product then run one after the other, so the
    recompute of the second one sees the first one's review (in READ
    COMMITTED, a statement only sees rows committed before it started).
    """
    return Product.all_objects.select_for_update().get(pk=product_id)


@transaction.atomic
def review_create(*, product: Product, author, rating: int, title: str, body: str = "") -> Review:
    """One review per author and product, only on an active, non-deleted product.

    The product's rating_avg and review_count are updated in the same transaction.
    """
    product = _lock_product_for_review(product.pk)
    if product.is_deleted or not product.is_active:
        raise Conflict("This product is not available for review.", code="product_unavailable")
    if Review.objects.filter(product=product, author=author).exists():
        raise Conflict("You have already reviewed this product.", code="already_reviewed")
    try:
        with transaction.atomic():
            review = Review.objects.create(
                product=product, author=author, rating=rating, title=title, body=body
            )
    except IntegrityError as exc:  # pragma: no cover - the row lock above prevents the race
        raise Conflict("You have already reviewed this product.", code="already_reviewed") from exc
    product_ratings_recompute(product_ids=[product.pk])
    return review


@transaction.atomic
def review_update(*, review: Review, **fields: Any) -> Review:
    """Change a review's rating, title and/or body; ratings follow in the same transaction."""
    unknown = set(fields) - {"rating", "title", "body"}
    if unknown:
        raise TypeError(f"unknown review fields: {sorted(unknown)}")
    _lock_product_for_review(review.product_id)
    for name, value in fields.items():
        setattr(review, name, value)
    review.save()
    product_ratings_recompute(product_ids=[review.product_id])
    return review


@transaction.atomic
def review_delete(*, review: Review) -> None:
    """Delete a review; ratings follow in the same transaction."""
    _lock_product_for_review(review.product_id)
    product_id = review.product_id
    review.delete()
    product_ratings_recompute(product_ids=[product_id])
