"""Catalog admin: categories, products (with images inline) and reviews.

Every write goes through the catalog services or ends with
`invalidate_catalog`, so the API's cached reads never outlive an admin edit.
Changelists and change pages select their related rows up front (no N+1).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet

from storefront.catalog import services
from storefront.catalog.cache import invalidate_catalog
from storefront.catalog.models import Category, Product, ProductImage, Review
from storefront.core.exceptions import Conflict


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "parent", "depth", "updated_at")
    list_select_related = ("parent",)
    list_filter = ("depth",)
    search_fields = ("name", "slug")
    ordering = ("path",)
    autocomplete_fields = ("parent",)
    readonly_fields = ("path", "depth", "created_at", "updated_at")
    fields = ("name", "slug", "parent", "description", "path", "depth", "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("parent")

    def save_model(self, request, obj: Category, form, change: bool) -> None:
        # The form ran Category.clean() (cycles, depth); the services keep path,
        # depth and the subtree right and invalidate the cache.
        data = {name: getattr(obj, name) for name in ("slug", "name", "description")}
        if change:
            saved = services.category_update(category=obj, parent=obj.parent, **data)
        else:
            saved = services.category_create(parent=obj.parent, **data)
            obj.pk = saved.pk
        obj.path, obj.depth = saved.path, saved.depth

    def delete_model(self, request, obj: Category) -> None:
        try:
            services.category_delete(category=obj)
        except Conflict as exc:
            self.message_user(request, str(exc.detail), messages.ERROR)

    @transaction.atomic
    def delete_queryset(self, request, queryset: QuerySet[Category]) -> None:
        # Children first, so a selected parent is empty when its turn comes.
        for category in queryset.order_by("-depth"):
            self.delete_model(request, category)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ("position", "url", "file", "alt_text")
    ordering = ("position", "created_at")


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", "Not deleted"), ("yes", "Deleted"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = (
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
        )

    def _unique_among_all(self, name: str):
        # Django's unique check uses the default manager, which hides deleted
        # products; their SKU and slug are still taken in the table.
        value = self.cleaned_data.get(name)
        taken = Product.all_objects.filter(**{name: value}).exclude(pk=self.instance.pk)
        if value and taken.exists():
            raise forms.ValidationError(f"This {name} is taken (possibly by a deleted product).")
        return value

    def clean_sku(self):
        return self._unique_among_all("sku")

    def clean_slug(self):
        return self._unique_among_all("slug")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = (
        "name",
        "sku",
        "category",
        "price",
        "currency",
        "stock",
        "is_active",
        "is_featured",
        "rating_avg",
        "review_count",
        "deleted_at",
    )
    list_select_related = ("category",)
    list_filter = ("is_active", "is_featured", DeletedFilter, "currency")
    search_fields = ("name", "sku", "slug")
    autocomplete_fields = ("category",)
    readonly_fields = ("rating_avg", "review_count", "created_at", "updated_at", "deleted_at")
    inlines = (ProductImageInline,)
    actions = ("feature", "unfeature", "restore")

    def get_queryset(self, request):
        # Staff see soft-deleted products here too (filter "deleted"), to restore them.
        return Product.all_objects.select_related("category")

    def save_model(self, request, obj: Product, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        invalidate_catalog(product_ids=[obj.pk])

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # the images inline
        invalidate_catalog(product_ids=[form.instance.pk])

    def delete_model(self, request, obj: Product) -> None:
        services.product_delete(product=obj)  # soft delete

    def delete_queryset(self, request, queryset: QuerySet[Product]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        queryset.delete()  # soft delete, one UPDATE
        invalidate_catalog(product_ids=ids)

    def _set(self, request, queryset: QuerySet[Product], **values) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = Product.all_objects.filter(pk__in=ids).update(**values)
        invalidate_catalog(product_ids=ids)
        self.message_user(request, f"{count} product(s) updated.", messages.SUCCESS)

    @admin.action(description="Feature the selected products", permissions=["change"])
    def feature(self, request, queryset):
        self._set(request, queryset, is_featured=True)

    @admin.action(description="Unfeature the selected products", permissions=["change"])
    def unfeature(self, request, queryset):
        self._set(request, queryset, is_featured=False)

    @admin.action(description="Restore the selected deleted products", permissions=["change"])
    def restore(self, request, queryset):
        self._set(request, queryset, deleted_at=None)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("title", "product", "author", "rating", "created_at")
    list_select_related = ("product", "author")
    list_filter = ("rating",)
    search_fields = ("title", "body", "product__name", "product__sku", "author__email")
    autocomplete_fields = ("product", "author")
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "author")

    @transaction.atomic
    def save_model(self, request, obj: Review, form, change: bool) -> None:
        previous = form.initial.get("product") if change else None
        super().save_model(request, obj, form, change)
        ids = {obj.product_id} | ({previous} if previous else set())
        services.product_ratings_recompute(product_ids=ids)  # also invalidates

    def delete_model(self, request, obj: Review) -> None:
        services.review_delete(review=obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset: QuerySet[Review]) -> None:
        ids = set(queryset.values_list("product_id", flat=True))
        queryset.delete()
        services.product_ratings_recompute(product_ids=ids)
