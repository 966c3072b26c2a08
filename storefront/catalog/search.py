"""Product search: PostgreSQL full-text search plus trigram typo tolerance.

Full mode (PostgreSQL), set up by migration 0002:

* ``catalog_product.search_vector`` is a STORED generated ``tsvector`` column:
  the name with weight A, the description with weight B, both with the
  ``english`` configuration (stemming, stop words). PostgreSQL keeps it in step
  with every INSERT/UPDATE, whoever writes (API, admin, import, raw SQL), and a
  GIN index serves the ``@@`` match. It lives outside Django's model state on
  purpose: Django never selects or writes it, and SQLite never sees it.
* The description is cut to its first ``DESCRIPTION_INDEXED_CHARS`` characters
  before ``to_tsvector``: a tsvector is limited to 1 MB, and a 100k-character
  description of distinct multi-byte words would come close to that limit and
  fail the write. Measured on PostgreSQL 15 (see test_search.py): a
  200k-character description of distinct 4-byte-character words saves fine
  with the cut at 100k characters, whose vector stays well below 1 MB; the
  words that matter for search are at the start of a description anyway.
* The query is parsed by ``websearch_to_tsquery`` (quotes for phrases, ``or``,
  ``-word``): any user input is valid syntax, nothing raises.
* Ranking is ``ts_rank`` (weight A counts 2.5 times weight B, so a name match
  ranks above a description match), then trigram word similarity to the name.
* Typos: ``name %> query`` (pg_trgm word similarity above
  ``pg_trgm.word_similarity_threshold``, default 0.6) also matches, through a
  trigram GIN index on the name, so "wirless" still finds "Wireless mouse".

Embedded mode (SQLite): a case-insensitive substring match on the name or the
description, name matches first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVectorField,
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import Case, Expression, IntegerField, Q, Value, When

if TYPE_CHECKING:
    from storefront.catalog.models import ProductQuerySet

SEARCH_CONFIG = "english"
DESCRIPTION_INDEXED_CHARS = 100_000
SEARCH_VECTOR_COLUMN = "search_vector"
SEARCH_MAX_LENGTH = 200


class SearchVectorColumn(Expression):
    """The generated ``search_vector`` column of the query's base table (products).

    Rendered with the base table's alias so it stays right inside subqueries.
    """

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.base_table
        return (
            f"{compiler.quote_name(alias)}.{connection.ops.quote_name(SEARCH_VECTOR_COLUMN)}",
            [],
        )


def product_search(queryset: ProductQuerySet, text: str) -> ProductQuerySet:
    """Filter `queryset` to products matching `text`, best matches first."""
    text = text.strip()
    if not text:
        return queryset
    if connection.vendor != "postgresql":
        return (
            queryset.filter(Q(name__icontains=text) | Q(description__icontains=text))
            .annotate(
                search_rank=Case(
                    When(name__icontains=text, then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            )
            .order_by("-search_rank", "-created_at", "-id")
        )
    query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    return (
        queryset.alias(search_document=SearchVectorColumn())
        .filter(Q(search_document=query) | Q(name__trigram_word_similar=text))
        .annotate(
            search_rank=SearchRank(SearchVectorColumn(), query),
            search_similarity=TrigramWordSimilarity(text, "name"),
        )
        .order_by("-search_rank", "-search_similarity", "-created_at", "-id")
    )
