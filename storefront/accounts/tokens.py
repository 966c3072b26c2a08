"""Registration confirmation tokens: keyed, expiring, and good for one use.

A token is `<user id>.<time>.<mac>`: the user's UUID (base64url), the time it
was made (seconds, base 36) and an HMAC (SECRET_KEY, own salt) of both with
the account's state: e-mail, password hash, is_active, pending_verification.
The same construction as Django's password reset tokens, with its own expiry
(ACCOUNT_VERIFICATION_MAX_AGE) and a compact encoding: about 52 characters,
no `=`, so it survives a URL and a quoted-printable e-mail line unchanged.

Nothing about the state is stored: the MAC is checked against the account as
it is now. Confirming the address changes that state, so a token stops
working once used and cannot activate the account again later (say after
staff deactivated it). Registering again while unconfirmed sets a new
password, which likewise retires the tokens e-mailed before.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import base36_to_int, int_to_base36

from storefront.accounts.models import User

SALT = "storefront.accounts.verification"
# Past this many seconds in the future a token's time is not ours (clock skew
# between web processes aside, a token is never made later than it is read).
_CLOCK_SKEW = 60


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(user: User, timestamp: int, secret: str) -> str:
    state = (
        f"{user.pk}|{timestamp}|{user.email}|{user.password}|"
        f"{user.is_active}|{user.pending_verification}"
    )
    digest = salted_hmac(SALT, state, secret=secret, algorithm="sha256").digest()
    return _b64encode(digest[:16])


def verification_token_make(*, user: User) -> str:
    """A confirmation token for `user` in its current state."""
    timestamp = int(time.time())
    return ".".join(
        (
            _b64encode(user.pk.bytes),
            int_to_base36(timestamp),
            _mac(user, timestamp, settings.SECRET_KEY),
        )
    )


@dataclass(frozen=True)
class VerificationClaim:
    """What a well-formed, unexpired token claims: this account, in some state."""

    user_id: uuid.UUID
    timestamp: int
    mac: str

    def matches(self, user: User) -> bool:
        """Whether the token was made with our key for `user` as it is now."""
        if user.pk != self.user_id:
            return False
        secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        return any(
            constant_time_compare(_mac(user, self.timestamp, secret), self.mac)
            for secret in secrets
        )


def verification_token_read(*, token: str) -> VerificationClaim | None:
    """The claim of a well-formed token within its max age; None for anything else.

    Only the form and the age are checked here: whether the MAC is genuine
    depends on the account, see VerificationClaim.matches.
    """
    try:
        token.encode("ascii")
        user_b64, timestamp_b36, mac = token.split(".")
        user_id = uuid.UUID(bytes=_b64decode(user_b64))
        timestamp = base36_to_int(timestamp_b36)
    except (ValueError, binascii.Error):
        # ValueError includes UnicodeError: genuine tokens are ASCII.
        return None
    age = int(time.time()) - timestamp
    if not mac or age > settings.ACCOUNT_VERIFICATION_MAX_AGE or age < -_CLOCK_SKEW:
        return None
    return VerificationClaim(user_id=user_id, timestamp=timestamp, mac=mac)
