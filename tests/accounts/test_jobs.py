"""Pruning old sign-in attempts: only rows past retention go, and the job is really scheduled."""

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from procrastinate.contrib.django import app

from accounts import jobs
from accounts.models import LoginAttempt
from accounts.services import login_attempt_prune

pytestmark = pytest.mark.django_db

SCHEDULED_AT = 1_795_000_000  # the timestamp procrastinate passes to a periodic task


def _attempt(*, age: timedelta, now) -> LoginAttempt:
    attempt = LoginAttempt.objects.create(username="someone", succeeded=False, reason="password")
    # ``attempted_at`` is auto_now_add: backdate it after the insert.
    LoginAttempt.objects.filter(pk=attempt.pk).update(attempted_at=now - age)
    return attempt


@pytest.fixture
def attempts(settings):
    settings.NIGRANI_LOGIN_ATTEMPT_RETENTION_DAYS = 90
    now = timezone.now()
    return now, {
        "fresh": _attempt(age=timedelta(minutes=5), now=now),
        "just_inside": _attempt(age=timedelta(days=90) - timedelta(seconds=1), now=now),
        "just_past": _attempt(age=timedelta(days=90, seconds=1), now=now),
        "ancient": _attempt(age=timedelta(days=400), now=now),
    }


def test_prune_deletes_only_rows_older_than_retention(attempts):
    now, rows = attempts

    assert login_attempt_prune(now=now) == 2

    remaining = set(LoginAttempt.objects.values_list("pk", flat=True))
    assert remaining == {rows["fresh"].pk, rows["just_inside"].pk}


def test_prune_follows_the_retention_setting(attempts, settings):
    now, rows = attempts
    settings.NIGRANI_LOGIN_ATTEMPT_RETENTION_DAYS = 1

    assert login_attempt_prune(now=now) == 3
    assert list(LoginAttempt.objects.values_list("pk", flat=True)) == [rows["fresh"].pk]


def test_retention_shorter_than_the_lockout_lookback_is_refused(attempts, settings):
    now, _ = attempts
    settings.NIGRANI_LOGIN_ATTEMPT_RETENTION_DAYS = 1
    settings.NIGRANI_LOCKOUT_WINDOW_MINUTES = 24 * 60  # lockout looks back two windows: 2 days

    with pytest.raises(ImproperlyConfigured):
        login_attempt_prune(now=now)
    assert LoginAttempt.objects.count() == 4


def test_job_prunes_and_logs_the_count(attempts, caplog):
    with caplog.at_level(logging.INFO, logger="accounts.jobs"):
        assert jobs.prune_login_attempts(timestamp=SCHEDULED_AT) == 2

    assert "pruned 2 login attempts past retention" in caplog.text
    assert "someone" not in caplog.text
    assert LoginAttempt.objects.count() == 2


def test_job_is_registered_and_scheduled_daily_with_the_app():
    assert app.tasks["accounts.prune_login_attempts"] is jobs.prune_login_attempts
    periodic = app.periodic_registry.periodic_tasks[("accounts.prune_login_attempts", "")]
    assert periodic.task is jobs.prune_login_attempts
    assert periodic.cron == "45 21 * * *"  # 02:45 PKT; procrastinate's cron is UTC
