"""Account writes: verified registration, confirming an address, names.

Registration never tells whether an address already has an account: the
caller's answer is the same either way, the e-mail sent (after commit) is what
differs, and only the owner of the address reads it. Every branch hashes the
password once, so the time taken does not tell either.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from storefront.accounts.exceptions import VerificationTokenInvalid
from storefront.accounts.models import User
from storefront.accounts.roles import CUSTOMER
from storefront.accounts.tokens import verification_token_make, verification_token_read

logger = logging.getLogger("storefront.accounts")


# --- Registration ---------------------------------------------------------------


@transaction.atomic
def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> None:
    """Register an address, or e-mail its owner that someone tried to.

    * New address: an inactive customer account pending verification, and a
      confirmation e-mail with a token (services.user_verify activates it).
    * Address of an account still pending verification: as new (the owner may
      have lost the first e-mail); the password and names are replaced and a
      fresh confirmation e-mail sent, which retires the earlier tokens.
    * Any other account (active, or deactivated by staff): left unchanged; its
      owner is told by e-mail that someone tried to register with it.

    Returns nothing on purpose: the caller must not be able to tell these apart.
    The caller has validated the password.
    """
    email = User.objects.normalize_email(email)
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is None:
        user = _user_create_pending(
            email=email, password=password, first_name=first_name, last_name=last_name
        )
        if user is not None:
            _email_after_commit(VERIFICATION, user)
            return
        # A concurrent registration of this address inserted it first: go on
        # as a registration of an address already known.
        user = User.objects.select_for_update().get(email__iexact=email)
    if user.pending_verification and not user.is_active:
        user.set_password(password)
        user.first_name, user.last_name = first_name, last_name
        user.save(update_fields=["password", "first_name", "last_name", "updated_at"])
        _email_after_commit(VERIFICATION, user)
    else:
        # The same work as the other branches (one password hash), discarded.
        make_password(password)
        _email_after_commit(ALREADY_REGISTERED, user)


def _user_create_pending(
    *, email: str, password: str, first_name: str, last_name: str
) -> User | None:
    """A new inactive customer pending verification; None if the address was taken."""
    try:
        with transaction.atomic():  # a savepoint: the unique constraint may refuse it
            user = User.objects.create_user(
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
                is_active=False,
                pending_verification=True,
            )
    except IntegrityError:
        return None
    group, _ = Group.objects.get_or_create(name=CUSTOMER)
    user.groups.add(group)
    return user


VERIFICATION = "verification"
ALREADY_REGISTERED = "already_registered"


def _email_after_commit(kind: str, user: User) -> None:
    """Queue one registration e-mail once the transaction commits.

    Never raises on a broker outage (kombu's OperationalError after the quick
    publish retries): the failure is logged and the answer stays the same;
    registering again sends a new e-mail.
    """
    from storefront.accounts import tasks

    task = {
        VERIFICATION: tasks.send_verification_email,
        ALREADY_REGISTERED: tasks.send_already_registered_email,
    }[kind]
    user_id = str(user.pk)

    def send() -> None:
        try:
            task.delay(user_id)
        except KombuOperationalError:
            logger.warning(
                "broker unavailable: registration e-mail not sent",
                exc_info=True,
                extra={"user_id": user_id, "email_kind": kind},
            )

    transaction.on_commit(send)


def user_send_verification(*, user_id: UUID | str) -> bool:
    """E-mail the confirmation token to an account pending verification.

    The token is made now, from the account's current state. Returns False
    (nothing sent) when the account is gone or no longer pending.
    """
    user = User.objects.filter(pk=user_id, pending_verification=True, is_active=False).first()
    if user is None:
        return False
    token = verification_token_make(user=user)
    context = {
        "user": user,
        "token": token,
        "link": f"{settings.FRONTEND_VERIFY_URL}?{urlencode({'token': token})}",
        "expires_at": timezone.now() + timedelta(seconds=settings.ACCOUNT_VERIFICATION_MAX_AGE),
    }
    send_mail(
        subject="Confirm your e-mail address",
        message=render_to_string("accounts/email/verification.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
    return True


def user_send_already_registered(*, user_id: UUID | str) -> bool:
    """Tell an account's owner that someone tried to register with their address."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    send_mail(
        subject="Someone tried to register with your e-mail address",
        message=render_to_string("accounts/email/already_registered.txt", {"user": user}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
    return True


@transaction.atomic
def user_verify(*, token: str) -> User:
    """Activate the account a confirmation token was made for.

    Raises VerificationTokenInvalid for a forged, altered, expired or used
    token alike. Activating changes the state the token is bound to, so the
    same token never works twice.
    """
    claim = verification_token_read(token=token)
    if claim is None:
        raise VerificationTokenInvalid()
    user = (
        User.objects.select_for_update()
        .filter(pk=claim.user_id, pending_verification=True, is_active=False)
        .first()
    )
    if user is None or not claim.matches(user):
        raise VerificationTokenInvalid()
    user.is_active = True
    user.pending_verification = False
    user.save(update_fields=["is_active", "pending_verification", "updated_at"])
    return user


# --- Profile ----------------------------------------------------------------------


@transaction.atomic
def user_update_names(
    *, user: User, first_name: str | None = None, last_name: str | None = None
) -> User:
    """Change a user's names.

    Review lists show authors' first names and are cached: a change of name
    makes the catalog's cached reads stale (after commit) like any catalog write.
    """
    from storefront.catalog.cache import invalidate_catalog

    changed = []
    if first_name is not None and first_name != user.first_name:
        user.first_name = first_name
        changed.append("first_name")
    if last_name is not None and last_name != user.last_name:
        user.last_name = last_name
        changed.append("last_name")
    if changed:
        user.save(update_fields=[*changed, "updated_at"])
        if "first_name" in changed and user.reviews.exists():
            invalidate_catalog()
    return user
