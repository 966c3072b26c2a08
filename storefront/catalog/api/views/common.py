"""Pieces every catalog view shares: the schema class and the versioned product shape."""

from __future__ import annotations

from rest_framework.reverse import reverse

from storefront.catalog.api.serializers import ProductSerializer, ProductV2Serializer
from storefront.catalog.models import Product
from storefront.core.schema import AutoSchema


class CatalogAutoSchema(AutoSchema):
    """Writes take the view's `write_serializer_class` and answer with its read
    serializer (`get_serializer_class`, which depends on the API version)."""

    def get_request_serializer(self):
        write = getattr(self.view, "write_serializer_class", None)
        if write is not None and self.method in {"POST", "PUT", "PATCH"}:
            return write
        return super().get_request_serializer()

    def _is_create_operation(self) -> bool:
        # A POST creates (201) unless the view says otherwise (feature/unfeature).
        return self.method == "POST" and getattr(self.view, "post_creates", True)


def product_serializer_class(request) -> type[ProductSerializer]:
    """The product representation of the request's API version."""
    return ProductV2Serializer if getattr(request, "version", None) == "v2" else ProductSerializer


class ProductRepresentationMixin:
    """Render one product (after a write) exactly as its detail GET would."""

    def product_representation(self, product: Product) -> dict:
        product = Product.objects.for_listing().get(pk=product.pk)
        serializer_class = product_serializer_class(self.request)
        return serializer_class(product, context=self.get_serializer_context()).data

    def product_location(self, product: Product) -> str:
        return reverse("api:product-detail", kwargs={"pk": product.pk}, request=self.request)
