"""Celery entry points of the accounts app: the registration e-mails.

Load by id, call a service. SMTP errors (OSErrors) are retried with backoff,
as for the order confirmation. Sending twice (a redelivery after a worker
died) is harmless: both e-mails say the same, and a confirmation e-mail is
not sent once the address is confirmed.
"""

from __future__ import annotations

from celery import shared_task

from storefront.accounts import services

_EMAIL_TASK_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OSError,),  # smtplib's errors are OSErrors
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="accounts.send_verification_email", **_EMAIL_TASK_OPTIONS)
def send_verification_email(user_id: str) -> bool:
    """E-mail a fresh confirmation token to an account pending verification."""
    return services.user_send_verification(user_id=user_id)


@shared_task(name="accounts.send_already_registered_email", **_EMAIL_TASK_OPTIONS)
def send_already_registered_email(user_id: str) -> bool:
    """Tell an account's owner that someone tried to register with their address."""
    return services.user_send_already_registered(user_id=user_id)
