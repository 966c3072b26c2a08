"""Catalog representations (read) and inputs (write), per API version.

v1 and v2 differ only in the product representation: v2 adds `category_path`
(the category's ancestors and itself, from the root, as {slug, name}) and
`attributes`; v1 keeps the flat shape (category as a slug plus its URL).
Every resource carries its absolute, versioned `url`.
"""

from __future__ import annotations

import functools
import re
from functools import cached_property
from typing import Any, ClassVar
from uuid import UUID

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse
from rest_framework.validators import UniqueValidator

from storefront.catalog.models import Category, Product, ProductImage, Review

ALLOWED_IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}


def _reverse(view_name: str, context: dict[str, Any], **kwargs: Any) -> str:
    return reverse(view_name, kwargs=kwargs, request=context.get("request"))


class LinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


# --- categories -------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:category-detail", lookup_field="slug")
    # Null for a root category (documented as nullable: the schema said string).
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    parent_url = serializers.SerializerMethodField()
    products_url = serializers.HyperlinkedIdentityField(
        view_name="api:category-products", lookup_field="slug"
    )

    class Meta:
        model = Category
        fields = [
            "id",
            "url",
            "slug",
            "name",
            "description",
            "parent",
            "parent_url",
            "depth",
            "products_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_parent_url(self, category: Category) -> str | None:
        if category.parent_id is None:
            return None
        return _reverse("api:category-detail", self.context, slug=category.parent.slug)


class CategoryWriteSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Category.objects.all(),
        allow_null=True,
        required=False,
        help_text="Slug of the parent category; null for a root. Changing it moves the "
        "category with its whole subtree (no cycles, bounded depth).",
    )

    class Meta:
        model = Category
        fields = ["slug", "name", "description", "parent"]


class CategoryTreeNodeSerializer(serializers.Serializer):
    """One category of the tree, with its children (built from one query)."""

    slug = serializers.SlugField()
    name = serializers.CharField()
    url = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_url(self, node: Category) -> str:
        return _reverse("api:category-detail", self.context, slug=node.slug)

    @extend_schema_field(
        {"type": "array", "items": {"$ref": "#/components/schemas/CategoryTreeNode"}}
    )
    def get_children(self, node: Category) -> list[dict[str, Any]]:
        return CategoryTreeNodeSerializer(
            getattr(node, "tree_children", []), many=True, context=self.context
        ).data


class CategoryPageSerializer(serializers.Serializer):
    """The flat list: a page of categories, each with its parent."""

    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    links = LinksSerializer()
    results = CategorySerializer(many=True)


class CategoryTreeSerializer(serializers.Serializer):
    """?tree=true: the whole tree, roots first, children nested (not paginated)."""

    links = LinksSerializer()
    results = CategoryTreeNodeSerializer(many=True)


class CategoryRefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


# --- products ---------------------------------------------------------------------


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(
        help_text="The image itself: the external URL, or the stored file's URL."
    )

    class Meta:
        model = ProductImage
        fields = ["id", "url", "alt_text", "position"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_url(self, image: ProductImage) -> str:
        if image.url:
            return image.url
        request = self.context.get("request")
        location = image.file.url
        return request.build_absolute_uri(location) if request is not None else location


class ProductImageWriteSerializer(serializers.Serializer):
    url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, help_text="An external image URL."
    )
    file = serializers.ImageField(
        required=False,
        help_text="An uploaded image (multipart/form-data): JPEG, PNG, GIF or WebP, "
        "at most CATALOG_IMAGE_MAX_BYTES bytes.",
    )
    alt_text = serializers.CharField(max_length=255, required=False, allow_blank=True)
    position = serializers.IntegerField(
        min_value=0, max_value=32767, required=False, help_text="Defaults to after the last one."
    )

    def validate_file(self, file):
        if file.size > settings.CATALOG_IMAGE_MAX_BYTES:
            raise serializers.ValidationError(
                f"The image is larger than {settings.CATALOG_IMAGE_MAX_BYTES} bytes.",
                code="file_too_large",
            )
        image = getattr(file, "image", None)
        if image is None or image.format not in ALLOWED_IMAGE_FORMATS:
            raise serializers.ValidationError(
                "Upload a JPEG, PNG, GIF or WebP image.", code="invalid_image"
            )
        return file

    def validate(self, attrs):
        if bool(attrs.get("url")) == bool(attrs.get("file")):
            raise serializers.ValidationError(
                "Give either an image URL or an image file, not both.", code="url_xor_file"
            )
        return attrs


class ProductSerializer(serializers.ModelSerializer):
    """A product as /api/v1/ shows it."""

    url = serializers.HyperlinkedIdentityField(view_name="api:product-detail")
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    category_url = serializers.SerializerMethodField()
    in_stock = serializers.SerializerMethodField()
    images = ProductImageSerializer(many=True, read_only=True)
    reviews_url = serializers.HyperlinkedIdentityField(view_name="api:product-reviews")

    # Whether `represent_row` needs the row's `category_path` (v2 shows it).
    row_with_category_path: ClassVar[bool] = False

    class Meta:
        model = Product
        fields = [
            "id",
            "url",
            "sku",
            "slug",
            "name",
            "description",
            "category",
            "category_url",
            "price",
            "currency",
            "stock",
            "in_stock",
            "is_active",
            "is_featured",
            "rating_avg",
            "review_count",
            "images",
            "reviews_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_category_url(self, product: Product) -> str:
        return _reverse("api:category-detail", self.context, slug=product.category.slug)

    def get_in_stock(self, product: Product) -> bool:
        return product.stock > 0

    def to_representation(self, product: Product) -> dict[str, Any]:
        """The declared fields' output, written out: a page of 20 products went
        through DRF's generic loop, 60 `reverse()` calls and 20 nested image
        serializers (docs/performance.md, "Serialisation"). The declared fields
        stay the contract (the schema is built from them); the parity tests in
        test_serializers.py compare this with `super().to_representation` field
        by field. Without a request (no absolute URLs) the generic path runs."""
        if self._links is None:
            return super().to_representation(product)
        return self.represent_row(self.product_row(product))

    def product_row(self, product: Product) -> dict[str, Any]:
        """The plain values this version's representation is built from."""
        return product.as_row()

    def represent_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """The representation of a product given as `Product.as_row()` values (or
        as `Product.objects.row_visible_to` reads them, without an instance):
        what `to_representation` gives for the product itself. Needs the request."""
        links = self._links
        if links is None:
            raise AssertionError("represent_row needs the request in the serializer context")
        value = _value_fields()
        product_id = row["id"]
        rating_avg = row["rating_avg"]
        return {
            "id": str(product_id),
            "url": links.product(product_id),
            "sku": row["sku"],
            "slug": row["slug"],
            "name": row["name"],
            "description": row["description"],
            "category": row["category_slug"],
            "category_url": links.category(row["category_slug"]),
            "price": value["price"].to_representation(row["price"]),
            "currency": row["currency"],
            "stock": row["stock"],
            "in_stock": row["stock"] > 0,
            "is_active": row["is_active"],
            "is_featured": row["is_featured"],
            "rating_avg": (
                None if rating_avg is None else value["rating_avg"].to_representation(rating_avg)
            ),
            "review_count": row["review_count"],
            "images": [links.image_row(image) for image in row["images"]],
            "reviews_url": links.product_reviews(product_id),
            "created_at": value["created_at"].to_representation(row["created_at"]),
            "updated_at": value["updated_at"].to_representation(row["updated_at"]),
        }

    @cached_property
    def _links(self) -> _ProductLinks | None:
        request = self.context.get("request")
        return None if request is None else _ProductLinks(request)


@functools.cache
def _value_fields() -> dict[str, serializers.Field]:
    """DRF's own fields for the product values whose format DRF decides
    (decimals, times), built once: a serializer's `fields` rebuilds every field
    from the model, which cost more than the rest of a product's output."""
    fields = ProductSerializer().fields
    return {name: fields[name] for name in ("price", "rating_avg", "created_at", "updated_at")}


class _ProductLinks:
    """A request's absolute, versioned product URLs, each kind reversed once.

    `reverse()` with a placeholder gives a template the value is put into: a
    product id is a UUID and a category slug matches the URL's `slug`
    converter (ASCII letters, digits, - and _), so neither needs quoting. A
    value that does not fit goes through `reverse()` as before."""

    _ID = UUID(int=0)
    _SLUG = "placeholder-slug"
    _PLAIN_SLUG = re.compile(r"[-a-zA-Z0-9_]+")

    def __init__(self, request) -> None:
        self.context = {"request": request}
        self.request = request
        self._detail = self._template("api:product-detail", pk=self._ID)
        self._reviews = self._template("api:product-reviews", pk=self._ID)
        self._category = self._template("api:category-detail", slug=self._SLUG)

    def _template(self, view_name: str, **kwargs: Any) -> tuple[str, str]:
        head, tail = _reverse(view_name, self.context, **kwargs).split(str(*kwargs.values()))
        return head, tail

    def product(self, product_id: UUID) -> str:
        head, tail = self._detail
        return f"{head}{product_id}{tail}"

    def product_reviews(self, product_id: UUID) -> str:
        head, tail = self._reviews
        return f"{head}{product_id}{tail}"

    def category(self, slug: str) -> str:
        if not self._PLAIN_SLUG.fullmatch(slug):
            return _reverse("api:category-detail", self.context, slug=slug)
        head, tail = self._category
        return f"{head}{slug}{tail}"

    def image(self, image: ProductImage) -> dict[str, Any]:
        return {
            "id": str(image.id),
            "url": image.url or self.request.build_absolute_uri(image.file.url),
            "alt_text": image.alt_text,
            "position": image.position,
        }

    def image_row(self, image: dict[str, Any]) -> dict[str, Any]:
        """`image` for an image given as values (`Product.as_row()["images"]`):
        a stored file's URL is its storage's, as `FieldFile.url` gives it."""
        url = image["url"] or self.request.build_absolute_uri(_image_storage().url(image["file"]))
        return {
            "id": str(image["id"]),
            "url": url,
            "alt_text": image["alt_text"],
            "position": image["position"],
        }


def _image_storage():
    return ProductImage._meta.get_field("file").storage


class ProductV2ListSerializer(serializers.ListSerializer):
    """Loads the ancestors of every category on the page in one query."""

    def to_representation(self, data):
        items = list(data.all() if hasattr(data, "all") else data)
        self.child.context["category_nodes"] = Category.objects.nodes_on_paths(
            product.category for product in items
        )
        return super().to_representation(items)


class ProductV2Serializer(ProductSerializer):
    """A product as /api/v2/ shows it: v1 plus `category_path` and `attributes`."""

    category_path = serializers.SerializerMethodField(
        help_text="The product's category and its ancestors, from the root."
    )
    row_with_category_path = True

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "category_path", "attributes"]
        read_only_fields = fields
        list_serializer_class = ProductV2ListSerializer

    def product_row(self, product: Product) -> dict[str, Any]:
        nodes = self.context.get("category_nodes")  # a page's, from the list serializer
        return product.as_row(category_path=True, category_nodes=nodes)

    def represent_row(self, row: dict[str, Any]) -> dict[str, Any]:
        data = super().represent_row(row)
        data["category_path"] = row["category_path"]
        data["attributes"] = row["attributes"]
        return data

    @extend_schema_field(CategoryRefSerializer(many=True))
    def get_category_path(self, product: Product) -> list[dict[str, str]]:
        # Without the list serializer's nodes (a single product): its own one query.
        return product.category.path_refs(self.context.get("category_nodes"))


class ProductWriteSerializer(serializers.ModelSerializer):
    """Product input. The SKU and slug stay taken by soft-deleted products."""

    sku = serializers.CharField(
        max_length=64,
        validators=[UniqueValidator(Product.all_objects.all(), message="This SKU is taken.")],
    )
    slug = serializers.SlugField(
        max_length=255,
        allow_unicode=True,
        validators=[UniqueValidator(Product.all_objects.all(), message="This slug is taken.")],
    )
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all(), help_text="The category's slug."
    )
    attributes = serializers.JSONField(
        required=False, help_text="Free-form attributes: a JSON object (e.g. color, size)."
    )

    class Meta:
        model = Product
        fields = [
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
        ]

    def validate_attributes(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be a JSON object.", code="not_an_object")
        return value


# --- reviews ----------------------------------------------------------------------


class ReviewSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    product_url = serializers.HyperlinkedRelatedField(
        source="product", view_name="api:product-detail", read_only=True
    )
    author_name = serializers.SerializerMethodField(
        help_text="The author's first name (e-mail addresses are never shown)."
    )

    class Meta:
        model = Review
        fields = [
            "id",
            "url",
            "product",
            "product_url",
            "author_name",
            "rating",
            "title",
            "body",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_url(self, review: Review) -> str:
        return _reverse(
            "api:review-detail", self.context, pk=review.product_id, review_pk=review.pk
        )

    def get_author_name(self, review: Review) -> str:
        return review.author.first_name or "Anonymous"


class ReviewWriteSerializer(serializers.ModelSerializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)

    class Meta:
        model = Review
        fields = ["rating", "title", "body"]
