"""The catalog interchange format (JSON Lines): parsing, per-line validation, serialisation.

One JSON object per line, UTF-8. `type` says what the line is:

* ``category``: slug, name, parent (a category slug or null), description
* ``product``: sku, slug, name, description, category (a category slug), price
  (decimal string with two places, > 0), currency, stock, is_active, is_featured,
  attributes (object of string to string, number or boolean), created_at
* ``review``: product (a sku), author (an e-mail address), rating (1 to 5),
  title, body, created_at

This module knows one line at a time: a line is either turned into a typed
record or rejected with a reason (`LineError`). Rules that span lines (order,
duplicates, references) belong to the importer, which also knows the database.

Strictness: every listed field is required, unknown fields are rejected (a typo
must not be dropped silently), booleans must be JSON booleans, integers JSON
integers. Strings are kept byte for byte (no trimming, no normalisation); only
what the database cannot store is rejected (NUL characters, lone surrogates).

Canonical form (what `dump_line` writes, hence what the exporter writes):
compact JSON, UTF-8 (no \\u escapes except for control characters), keys in the
order of the table above with `type` first, attribute keys sorted, prices with
exactly two places, timestamps as given (the exporter passes UTC, so "+00:00").
`canonical()` maps any valid line to a comparable value: two lines that mean
the same thing (attribute key order, timestamp offset) canonicalise equally.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from storefront.catalog.models import (
    PRICE_DECIMAL_PLACES,
    PRICE_MAX_DIGITS,
    Category,
    Product,
    Review,
)

CATEGORY_SLUG_RE = re.compile(r"[a-z0-9-]{1,100}\Z")
PRODUCT_SLUG_RE = re.compile(r"[-\w]+\Z")  # Django's unicode slug: the column allows it
CURRENCY_RE = re.compile(r"[A-Z]{3}\Z")
PRICE_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
PRICE_MAX = Decimal(10 ** (PRICE_MAX_DIGITS - PRICE_DECIMAL_PLACES)) - Decimal("0.01")
STOCK_MAX = 2**31 - 1  # IntegerField
EMAIL_MAX_LENGTH = 254
_email_validator = EmailValidator()


def _max_length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


CATEGORY_NAME_MAX = _max_length(Category, "name")
PRODUCT_SKU_MAX = _max_length(Product, "sku")
PRODUCT_SLUG_MAX = _max_length(Product, "slug")
PRODUCT_NAME_MAX = _max_length(Product, "name")
REVIEW_TITLE_MAX = _max_length(Review, "title")


class LineError(ValueError):
    """A line that breaks the format; the message is the reason, for people."""


@dataclass(slots=True)
class CategoryRecord:
    slug: str
    name: str
    parent: str | None
    description: str


@dataclass(slots=True)
class ProductRecord:
    sku: str
    slug: str
    name: str
    description: str
    category: str
    price: Decimal
    currency: str
    stock: int
    is_active: bool
    is_featured: bool
    attributes: dict[str, str | int | float | bool]
    created_at: datetime


@dataclass(slots=True)
class ReviewRecord:
    product: str
    author: str
    rating: int
    title: str
    body: str
    created_at: datetime


Record = CategoryRecord | ProductRecord | ReviewRecord

FIELDS: dict[str, tuple[str, ...]] = {
    "category": ("slug", "name", "parent", "description"),
    "product": (
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
        "created_at",
    ),
    "review": ("product", "author", "rating", "title", "body", "created_at"),
}


# --- parsing -----------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise LineError(f"invalid JSON: {name} is not a JSON number")


def parse_line(line: bytes | str) -> Record:
    """Parse and validate one line (with or without its newline); raise LineError."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LineError(f"not valid UTF-8 (byte {exc.start})") from None
    line = line.rstrip("\r\n")
    if not line.strip():
        raise LineError("blank line")
    try:
        data = json.loads(line, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        # Some messages end in " at" ("Unterminated string starting at"): the column follows.
        message = exc.msg.removesuffix(" at")
        raise LineError(f"invalid JSON: {message} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise LineError(f"expected a JSON object, got {_json_type(data)}")
    kind = data.get("type")
    if kind not in FIELDS:
        if "type" not in data:
            raise LineError("missing field: type")
        raise LineError(f"unknown type {kind!r} (expected category, product or review)")
    fields = FIELDS[kind]
    missing = [f for f in fields if f not in data]
    if missing:
        raise LineError(f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    unknown = sorted(k for k in data if k != "type" and k not in fields)
    if unknown:
        raise LineError(f"unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    # NUL and lone surrogates can only arrive as \u escapes: skip the deep scan
    # for the (vast majority of) lines without any.
    if "\\u" in line:
        _check_storable(data, "")
    return _PARSERS[kind](data)


def _check_storable(value: Any, where: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise LineError(f"{where or 'a key'}: contains a NUL character (\\u0000)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise LineError(f"{where or 'a key'}: contains a lone surrogate") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, where)
            _check_storable(item, f"{where}.{key}" if where else key)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _str(data: dict, field: str, *, max_length: int | None = None, empty: bool = True) -> str:
    value = data[field]
    if type(value) is not str:
        raise LineError(f"{field}: expected a string, got {_json_type(value)}")
    if not empty and not value:
        raise LineError(f"{field}: must not be empty")
    if max_length is not None and len(value) > max_length:
        raise LineError(f"{field}: longer than {max_length} characters ({len(value)})")
    return value


def _bool(data: dict, field: str) -> bool:
    value = data[field]
    if type(value) is not bool:
        raise LineError(f"{field}: expected true or false, got {_json_type(value)}")
    return value


def _int(data: dict, field: str) -> int:
    value = data[field]
    if type(value) is not int:
        if type(value) is float and value.is_integer():
            raise LineError(f"{field}: expected an integer, got {value!r}")
        raise LineError(f"{field}: expected an integer, got {_json_type(value)}")
    return value


def _datetime(data: dict, field: str) -> datetime:
    value = _str(data, field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise LineError(f"{field}: not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise LineError(f"{field}: needs a UTC offset (e.g. +00:00): {value!r}")
    return parsed


def _category_slug(data: dict, field: str) -> str:
    value = _str(data, field)
    if not CATEGORY_SLUG_RE.match(value):
        raise LineError(f"{field}: {value!r} is not a category slug ([a-z0-9-], 1 to 100)")
    return value


def _price(data: dict) -> Decimal:
    value = data["price"]
    if type(value) is not str:
        raise LineError(f'price: expected a decimal string such as "9.99", got {_json_type(value)}')
    if not PRICE_RE.match(value):
        raise LineError(f"price: {value!r} is not a decimal number")
    try:
        price = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise LineError(f"price: {value!r} is not a decimal number") from None
    if price <= 0:
        raise LineError(f"price: must be greater than 0, got {value}")
    if price > PRICE_MAX:
        raise LineError(f"price: {value} is more than the maximum {PRICE_MAX}")
    places = len(value.partition(".")[2])
    if places != PRICE_DECIMAL_PLACES:
        raise LineError(f"price: {value!r} must have exactly two decimal places")
    return price


def _attributes(data: dict) -> dict[str, str | int | float | bool]:
    value = data["attributes"]
    if type(value) is not dict:
        raise LineError(f"attributes: expected an object, got {_json_type(value)}")
    for key, item in value.items():
        if type(item) is float and not math.isfinite(item):
            raise LineError(f"attributes.{key}: number out of range")
        if type(item) not in (str, int, float, bool):
            raise LineError(
                f"attributes.{key}: expected a string, number or boolean, got {_json_type(item)}"
            )
    return value


def _parse_category(data: dict) -> CategoryRecord:
    parent = data["parent"]
    return CategoryRecord(
        slug=_category_slug(data, "slug"),
        name=_str(data, "name", max_length=CATEGORY_NAME_MAX, empty=False),
        parent=None if parent is None else _category_slug(data, "parent"),
        description=_str(data, "description"),
    )


def _parse_product(data: dict) -> ProductRecord:
    slug = _str(data, "slug", max_length=PRODUCT_SLUG_MAX, empty=False)
    if not PRODUCT_SLUG_RE.match(slug):
        raise LineError(f"slug: {slug!r} is not a slug (letters, digits, - and _)")
    currency = _str(data, "currency")
    if not CURRENCY_RE.match(currency):
        raise LineError(f"currency: {currency!r} is not an ISO 4217 code")
    stock = _int(data, "stock")
    if stock < 0:
        raise LineError(f"stock: must be 0 or more, got {stock}")
    if stock > STOCK_MAX:
        raise LineError(f"stock: must be at most {STOCK_MAX}, got {stock}")
    return ProductRecord(
        sku=_str(data, "sku", max_length=PRODUCT_SKU_MAX, empty=False),
        slug=slug,
        name=_str(data, "name", max_length=PRODUCT_NAME_MAX, empty=False),
        description=_str(data, "description"),
        category=_category_slug(data, "category"),
        price=_price(data),
        currency=currency,
        stock=stock,
        is_active=_bool(data, "is_active"),
        is_featured=_bool(data, "is_featured"),
        attributes=_attributes(data),
        created_at=_datetime(data, "created_at"),
    )


def _parse_review(data: dict) -> ReviewRecord:
    author = _str(data, "author", max_length=EMAIL_MAX_LENGTH)
    try:
        _email_validator(author)
    except ValidationError:
        raise LineError(f"author: {author!r} is not a valid e-mail address") from None
    rating = _int(data, "rating")
    if not 1 <= rating <= 5:
        raise LineError(f"rating: must be from 1 to 5, got {rating}")
    return ReviewRecord(
        product=_str(data, "product", max_length=PRODUCT_SKU_MAX, empty=False),
        author=author,
        rating=rating,
        title=_str(data, "title", max_length=REVIEW_TITLE_MAX, empty=False),
        body=_str(data, "body"),
        created_at=_datetime(data, "created_at"),
    )


_PARSERS = {"category": _parse_category, "product": _parse_product, "review": _parse_review}


# --- serialisation -----------------------------------------------------------


def format_price(price: Decimal) -> str:
    return str(price.quantize(Decimal(1).scaleb(-PRICE_DECIMAL_PLACES)))


def format_datetime(value: datetime) -> str:
    return value.isoformat()


def _dumps(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dump_line(record: Record) -> str:
    """The canonical line for a record, without its newline."""
    if isinstance(record, CategoryRecord):
        obj: dict[str, Any] = {
            "type": "category",
            "slug": record.slug,
            "name": record.name,
            "parent": record.parent,
            "description": record.description,
        }
    elif isinstance(record, ProductRecord):
        obj = {
            "type": "product",
            "sku": record.sku,
            "slug": record.slug,
            "name": record.name,
            "description": record.description,
            "category": record.category,
            "price": format_price(record.price),
            "currency": record.currency,
            "stock": record.stock,
            "is_active": record.is_active,
            "is_featured": record.is_featured,
            "attributes": dict(sorted(record.attributes.items())),
            "created_at": format_datetime(record.created_at),
        }
    else:
        obj = {
            "type": "review",
            "product": record.product,
            "author": record.author,
            "rating": record.rating,
            "title": record.title,
            "body": record.body,
            "created_at": format_datetime(record.created_at),
        }
    return _dumps(obj)


def canonical(line: bytes | str) -> str:
    """A valid line in canonical form, as an import followed by an export gives it back.

    Timestamps in UTC, e-mail domains in lower case (accounts store them so).
    """
    record = parse_line(line)
    if not isinstance(record, CategoryRecord):
        record.created_at = record.created_at.astimezone(UTC)
    if isinstance(record, ReviewRecord):
        record.author = BaseUserManager.normalize_email(record.author)  # as accounts store it
    return dump_line(record)
