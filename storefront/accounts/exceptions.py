"""Domain errors of the accounts app; core maps them to problem details."""

from __future__ import annotations

from storefront.core.exceptions import DomainError


class VerificationTokenInvalid(DomainError):
    # One answer for forged, altered, expired and already used tokens: the
    # client can only ask for a new one (register again) in every case.
    default_detail = (
        "This confirmation token is invalid, expired or already used. "
        "Register again to receive a new one."
    )
    default_code = "invalid_token"
