"""Catalog factories.

CategoryFactory goes through `services.category_create`, so path and depth are
those the API would write. ReviewFactory goes through `services.review_create`,
so the product's rating_avg and review_count are right.

    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    product = ProductFactory(category=child, price=Decimal("9.99"))
    review = ReviewFactory(product=product, rating=5)
"""

from __future__ import annotations

from decimal import Decimal

import factory

from storefront.accounts.tests.factories import UserFactory
from storefront.catalog import services
from storefront.catalog.models import Category, Product, ProductImage, Review


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")
    description = ""
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Category:
        return services.category_create(**kwargs)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"Product {n}")
    description = factory.Faker("sentence")
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("19.99")
    currency = "USD"
    stock = 10
    is_active = True
    is_featured = False
    attributes = factory.LazyFunction(dict)


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    url = factory.Sequence(lambda n: f"https://img.example.com/{n}.jpg")
    alt_text = factory.Sequence(lambda n: f"Image {n}")
    position = factory.Sequence(lambda n: n)


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory)
    author = factory.SubFactory(UserFactory)
    rating = 4
    title = factory.Sequence(lambda n: f"Review {n}")
    body = "Does what it says."

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Review:
        return services.review_create(**kwargs)
