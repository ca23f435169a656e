"""The daily verification job: it schedules, prunes, and is really registered as periodic."""

from datetime import timedelta

from django.utils import timezone
from procrastinate.contrib.django import app

from mobile_api import jobs
from mobile_api.models import TaskChange, VerificationTask
from tests.mobile_api.conftest import IN_LAHORE_A_1, located_offender

SCHEDULED_AT = 1_795_000_000  # the timestamp procrastinate passes to a periodic task


def test_the_job_opens_due_tasks_and_prunes_the_change_log(world, policies, settings):
    settings.NIGRANI_SYNC_CURSOR_MAX_DAYS = 14
    offender = located_offender(
        world.lahore_a_1, IN_LAHORE_A_1, next_verification_due=timezone.localdate()
    )
    assert jobs.schedule_verifications(timestamp=SCHEDULED_AT) == 1
    task = VerificationTask.objects.get(offender=offender)
    TaskChange.objects.filter(task=task).update(created_at=timezone.now() - timedelta(days=20))

    assert jobs.schedule_verifications(timestamp=SCHEDULED_AT) == 0
    assert not TaskChange.objects.exists()


def test_the_job_is_scheduled_daily():
    assert app.tasks["mobile_api.schedule_verifications"] is jobs.schedule_verifications
    periodic = app.periodic_registry.periodic_tasks[("mobile_api.schedule_verifications", "")]
    assert periodic.cron == "30 22 * * *"  # 03:30 PKT; procrastinate's cron is UTC
