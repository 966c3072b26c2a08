"""Account services: registration's branches, races and outages; the e-mails' tasks."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from kombu.exceptions import OperationalError as KombuOperationalError

from storefront.accounts import services, tasks
from storefront.accounts.models import User
from storefront.accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _register(email: str, password: str = DEFAULT_PASSWORD, **names) -> None:
    services.user_register(email=email, password=password, **names)


@pytest.mark.parametrize("given", ["nothing", "pending", "active", "deactivated"])
def test_every_branch_hashes_the_password_exactly_once(given):
    # given an address with no account, or an account in some state
    if given == "pending":
        _register("ann@example.com")
    elif given in {"active", "deactivated"}:
        UserFactory(email="ann@example.com", is_active=given == "active")
    hasher = type(get_hasher())

    # when the address registers
    with mock.patch.object(hasher, "encode", autospec=True, side_effect=hasher.encode) as encode:
        _register("ann@example.com", "a fresh long passphrase 3")

    # then the password was hashed once, as expensive on every branch
    assert encode.call_count == 1
    assert encode.call_args.args[1] == "a fresh long passphrase 3"


def test_a_registration_racing_another_one_for_the_same_address_ends_in_one_account(
    django_capture_on_commit_callbacks,
):
    # given a concurrent registration that inserted the address just after our look-up
    _register("ann@example.com")
    real_first = QuerySet.first
    looked_up = []

    def missed_once(queryset):
        if not looked_up:
            looked_up.append(True)
            return None
        return real_first(queryset)

    # when ours goes on to insert it too
    with (
        mock.patch.object(QuerySet, "first", missed_once),
        django_capture_on_commit_callbacks(execute=True),
    ):
        _register("ANN@example.com", "the second long passphrase 4")

    # then the database refused the twin and ours re-registered the pending account
    assert User.objects.filter(email__iexact="ann@example.com").count() == 1
    user = User.objects.get(email__iexact="ann@example.com")
    assert user.check_password("the second long passphrase 4")
    assert not user.is_active
    assert [m.subject for m in mail.outbox] == ["Confirm your e-mail address"]


def test_the_email_is_scheduled_after_commit_never_during_the_transaction(
    django_capture_on_commit_callbacks,
):
    with mock.patch.object(tasks.send_verification_email, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            _register("ann@example.com")
        assert not delay.called  # the transaction has not committed

        for callback in callbacks:  # it commits
            callback()

    delay.assert_called_once_with(str(User.objects.get(email="ann@example.com").pk))


@pytest.mark.parametrize(
    ("existing", "task"),
    [(False, "send_verification_email"), (True, "send_already_registered_email")],
)
def test_a_broker_outage_is_logged_and_does_not_fail_the_registration(
    django_capture_on_commit_callbacks, caplog, existing, task
):
    if existing:
        UserFactory(email="ann@example.com")
    outage = KombuOperationalError("broker down")

    with (
        mock.patch.object(getattr(tasks, task), "delay", side_effect=outage),
        caplog.at_level(logging.WARNING, logger="storefront.accounts"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        _register("ann@example.com")

    assert User.objects.filter(email="ann@example.com").count() == 1
    assert "broker unavailable: registration e-mail not sent" in caplog.text
    assert mail.outbox == []


def test_a_confirmation_is_not_sent_once_the_address_is_confirmed():
    # given an account confirmed before its queued e-mail went out (a redelivery)
    user = UserFactory()

    assert tasks.send_verification_email.delay(str(user.pk)).get() is False
    assert mail.outbox == []


def test_the_e_mail_tasks_do_nothing_for_an_account_deleted_since():
    _register("ann@example.com")
    user_id = str(User.objects.get(email="ann@example.com").pk)
    User.objects.filter(pk=user_id).delete()

    assert tasks.send_verification_email.delay(user_id).get() is False
    assert tasks.send_already_registered_email.delay(user_id).get() is False
    assert mail.outbox == []


@pytest.mark.parametrize(
    "task", [tasks.send_verification_email, tasks.send_already_registered_email]
)
def test_an_smtp_failure_reaches_the_task_which_retries_it(task):
    # given an SMTP server refusing connections
    _register("ann@example.com")
    user_id = str(User.objects.get(email="ann@example.com").pk)
    send = {
        tasks.send_verification_email: services.user_send_verification,
        tasks.send_already_registered_email: services.user_send_already_registered,
    }[task]

    # then the service lets the error through, for the task's retry policy
    with (
        mock.patch.object(services, "send_mail", side_effect=ConnectionRefusedError),
        pytest.raises(ConnectionRefusedError),
    ):
        send(user_id=user_id)
    assert task.autoretry_for == (OSError,)
    assert task.max_retries == 5
    assert task.acks_late


def test_the_database_refuses_an_active_account_pending_verification():
    user = UserFactory(is_active=False, pending_verification=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=True)
