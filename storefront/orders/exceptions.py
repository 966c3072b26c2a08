"""Domain errors of the orders app; core maps them to problem details."""

from __future__ import annotations

from storefront.core.exceptions import Conflict, ServiceUnavailable, Unprocessable


class OutOfStock(Conflict):
    default_detail = "Not enough stock for a product in this order."
    default_code = "out_of_stock"


class ProductUnavailable(Unprocessable):
    default_detail = "A product in this order does not exist or is not for sale."
    default_code = "product_unavailable"


class CurrencyMismatch(Unprocessable):
    default_detail = "All products of one order must be priced in the same currency."
    default_code = "currency_mismatch"


class InvalidTransition(Conflict):
    default_detail = "The order cannot change to this status from its current one."
    default_code = "invalid_transition"


class PaymentUnavailable(ServiceUnavailable):
    default_detail = "The payment provider is unavailable; try again shortly."
    default_code = "payment_unavailable"


class PriceChanging(Conflict):
    default_detail = "Prices of products in this order are changing right now; try again."
    default_code = "price_changing"
