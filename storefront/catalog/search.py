"""Product search: PostgreSQL full-text search plus trigram typo tolerance.

Full mode (PostgreSQL), set up by migration 0003:

* ``catalog_product.search_vector`` is a STORED generated ``tsvector`` column:
  the name with weight A, the description with weight B, both with the
  ``english`` configuration (stemming, stop words). PostgreSQL keeps it in step
  with every INSERT/UPDATE, whoever writes (API, admin, import, raw SQL), and a
  GIN index serves the ``@@`` match. It lives outside Django's model state on
  purpose: Django never selects or writes it, and SQLite never sees it.
* The description is cut to its first ``DESCRIPTION_INDEXED_CHARS`` characters
  before ``to_tsvector``: a tsvector is limited to 1 MB and an oversized one
  fails the INSERT/UPDATE. Measured on PostgreSQL 15 (distinct random words of
  3 to 8 characters): 100k characters of ASCII words give a 0.21 MB vector,
  100k characters of 4-byte-character words 0.46 MB; uncut, a description of
  such words fails between 250k and 300k characters. The cut keeps any description
  writable (test_search.py saves 1M characters) and costs nothing in practice:
  the words that matter for search are at the start of a description.
* The query is parsed by ``websearch_to_tsquery`` (quotes for phrases, ``or``,
  ``-word``): any user input is valid syntax, nothing raises.
* Ranking is ``ts_rank`` (weight A counts 2.5 times weight B, so a name match
  ranks above a description match), then trigram word similarity to the name.
* Typos: ``name %> query`` (pg_trgm word similarity of at least
  ``pg_trgm.word_similarity_threshold``, set for every connection from the
  CATALOG_SEARCH_TYPO_THRESHOLD setting, default 0.5 rather than pg_trgm's
  0.6) also matches, through a trigram GIN index on the name, so "wirless"
  (similarity 0.55) still finds "Wireless mouse". A query using websearch
  operators (quotes, ``or``, ``-word``) is taken literally, without the
  trigram match: "apple -green" must not bring back
  "Green apple" because it looks like the query.

Embedded mode (SQLite): a case-insensitive substring match on the name or the
description, name matches first.
"""

from __future__ import annotations

import re
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
_WEBSEARCH_OPERATORS = re.compile(r'"|(?:^|\s)-\S|\sor\s', re.IGNORECASE)


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
    matches = Q(search_document=query)
    if not _WEBSEARCH_OPERATORS.search(text):
        matches |= Q(name__trigram_word_similar=text)
    return (
        queryset.alias(search_document=SearchVectorColumn())
        .filter(matches)
        .annotate(
            search_rank=SearchRank(SearchVectorColumn(), query),
            search_similarity=TrigramWordSimilarity(text, "name"),
        )
        .order_by("-search_rank", "-search_similarity", "-created_at", "-id")
    )
