"""Where tasks come from and where they go: the register's hooks, assignment by polygon, the
periodic schedule and its spread, ad hoc creation, reassignment, the policy hook."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from common.exceptions import Conflict, NotFound
from mobile_api import rules
from mobile_api.models import TaskChange, TaskStatus, VerificationTask
from mobile_api.services import tasks as task_services
from registry.models import Offender, OffenderStatus, ReportingPolicy
from registry.services.dues import reporting_policy_save
from registry.services.lifecycle import offender_release
from registry.services.offenders import offender_update
from tests.mobile_api.conftest import (
    IN_LAHORE_A_1,
    IN_LAHORE_A_2,
    IN_LAHORE_B_1,
    located_offender,
    open_task,
)
from tests.registry.offender_data import LAHORE_A_2, register


def _release(actor, offender, address: dict) -> Offender:
    return offender_release(
        actor=actor,
        offender_id=offender.pk,
        released_on=timezone.localdate(),
        prison="Camp Jail Lahore",
        address=address,
    )


def test_release_assigns_the_task_to_the_beat_whose_polygon_holds_the_address(
    world, registry_admin
):
    offender = register(registry_admin)
    _release(registry_admin, offender, {"text": "House 7", "district": "lahore", **LAHORE_A_2})

    task = VerificationTask.objects.get(offender=offender)
    assert (task.beat, task.station, task.district) == (
        world.lahore_a_2,
        world.lahore_a,
        world.lahore,
    )
    assert task.status == TaskStatus.OPEN
    assert task.source == "release"
    assert not task.needs_point
    assert task.due_on == timezone.localdate() + timedelta(days=7)
    assert list(TaskChange.objects.filter(task=task).values_list("beat_id", flat=True)) == [
        world.lahore_a_2.pk
    ]


def test_an_address_without_a_point_goes_to_a_station_of_its_district_flagged(
    world, registry_admin
):
    offender = register(registry_admin)
    _release(registry_admin, offender, {"text": "Somewhere in Lahore", "district": "lahore"})

    task = VerificationTask.objects.get(offender=offender)
    assert task.beat is None
    assert task.needs_point
    assert task.district == world.lahore
    assert task.station.district == world.lahore
    assert not TaskChange.objects.filter(task=task).exists()  # no beat list shows it


def test_address_change_cancels_the_old_task_and_opens_one_for_the_new_beat(world, registry_admin):
    offender = register(registry_admin)
    _release(registry_admin, offender, {"text": "House 7", "district": "lahore", **LAHORE_A_2})
    old = VerificationTask.objects.get(offender=offender)

    offender_update(
        actor=registry_admin,
        offender_id=offender.pk,
        data={"address": {"text": "Flat 2", "district": "lahore", "lon": 74.7, "lat": 31.5}},
    )

    old.refresh_from_db()
    assert (old.status, old.resolution) == (TaskStatus.CANCELLED, "address_changed")
    new = VerificationTask.objects.get(offender=offender, status=TaskStatus.OPEN)
    assert new.beat == world.lahore_b_1
    assert new.source == "address_change"
    # The old beat's officers learn of the cancellation at their next sync.
    assert TaskChange.objects.filter(task=old, beat=world.lahore_a_2).count() == 2


def test_transfer_cancels_open_tasks_left_in_the_old_district(world, registry_admin, policies):
    offender = located_offender(world.lahore_a_1, IN_LAHORE_A_1)
    task = open_task(offender)
    task_services.on_offender_transferred(offender=offender, old_district=world.lahore)
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN  # still in Lahore: nothing to do

    Offender.objects.filter(pk=offender.pk).update(district=world.kasur)
    offender.refresh_from_db()
    task_services.on_offender_transferred(offender=offender, old_district=world.lahore)
    task.refresh_from_db()
    assert (task.status, task.resolution) == (TaskStatus.CANCELLED, "transferred")


def test_beat_offender_ids_hook_names_offenders_with_an_open_task_on_the_beat(
    world, beat_officer, beat_officer_elsewhere, policies
):
    from registry.selectors import offender_queryset_for

    mine = located_offender(world.lahore_a_1, IN_LAHORE_A_1)
    other = located_offender(world.lahore_a_2, IN_LAHORE_A_2)
    open_task(mine)
    open_task(other)
    located_offender(world.lahore_a_1, IN_LAHORE_A_1)  # no task: not visible

    assert list(offender_queryset_for(actor=beat_officer)) == [mine]
    assert list(offender_queryset_for(actor=beat_officer_elsewhere)) == [other]


# --- the periodic schedule ------------------------------------------------------------------


def test_periodic_schedule_spreads_a_cohort_over_many_days(world, policies):
    today = date(2026, 3, 10)
    due = today + timedelta(days=20)
    cohort = [
        located_offender(world.lahore_a_1, IN_LAHORE_A_1, next_verification_due=due)
        for _ in range(42)
    ]

    # With the 7-day lead and the 14-day spread, the ones falling due in the next week come.
    report = task_services.verification_schedule(today=today + timedelta(days=20))
    assert report.created == 42

    tasks = VerificationTask.objects.filter(offender__in=cohort)
    per_day = Counter(tasks.values_list("due_on", flat=True))
    assert len(per_day) == 14  # 42 offenders over 14 days, not one morning
    assert max(per_day.values()) == 3
    for task in tasks.select_related("offender"):
        assert task.due_on <= task.offender.next_verification_due  # never later than due
        assert task.due_on > due - timedelta(days=14)
        assert task.source == "periodic"
        assert task.beat == world.lahore_a_1
    assert TaskChange.objects.filter(task__in=tasks, beat=world.lahore_a_1).count() == 42


def test_periodic_schedule_opens_only_what_falls_due_within_the_lead(world, policies):
    today = date(2026, 3, 10)
    soon = located_offender(
        world.lahore_a_1, IN_LAHORE_A_1, next_verification_due=today + timedelta(days=3)
    )
    later = located_offender(
        world.lahore_a_1, IN_LAHORE_A_1, next_verification_due=today + timedelta(days=60)
    )
    absconded = located_offender(
        world.lahore_a_1,
        IN_LAHORE_A_1,
        next_verification_due=today,
        status=OffenderStatus.ABSCONDED,
    )

    assert task_services.verification_schedule(today=today).created == 1
    assert VerificationTask.objects.filter(offender=soon).count() == 1
    assert not VerificationTask.objects.filter(offender__in=[later, absconded]).exists()
    # Again: nothing new (one open verification per offender).
    assert task_services.verification_schedule(today=today).created == 0


def test_periodic_schedule_cancels_tasks_of_offenders_no_longer_active(world, policies):
    offender = located_offender(world.lahore_a_1, IN_LAHORE_A_1)
    task = open_task(offender)
    Offender.objects.filter(pk=offender.pk).update(status=OffenderStatus.IN_CUSTODY)

    assert task_services.verification_schedule().cancelled == 1
    task.refresh_from_db()
    assert (task.status, task.resolution) == (TaskStatus.CANCELLED, "not_active")


def test_policy_change_moves_verification_dues_and_open_periodic_tasks(world, policies):
    today = timezone.localdate()
    offender = located_offender(
        world.lahore_a_1,
        IN_LAHORE_A_1,
        risk_tier=3,
        released_on=today - timedelta(days=30),
        status_changed_at=timezone.now() - timedelta(days=30),
        next_verification_due=today + timedelta(days=3),
    )
    task_services.verification_schedule(today=today)
    task = VerificationTask.objects.get(offender=offender)
    version = task.version

    policy = ReportingPolicy.objects.get(risk_tier=3)
    policy.verification_interval_days = 60
    reporting_policy_save(
        actor=None, policy=policy, fields=["verification_interval_days"], created=False
    )

    offender.refresh_from_db()
    assert offender.next_verification_due == today - timedelta(days=30) + timedelta(days=60)
    task.refresh_from_db()
    assert task.due_on <= offender.next_verification_due
    assert task.version == version + 1


# --- ad hoc and reassignment --------------------------------------------------------------------


def test_station_officer_creates_an_ad_hoc_task_once(world, station_officer, policies):
    offender = located_offender(world.lahore_a_2, IN_LAHORE_A_2)
    due = timezone.localdate() + timedelta(days=2)
    task = task_services.task_create(actor=station_officer, offender_id=offender.pk, due_on=due)
    assert (task.source, task.beat, task.due_on) == ("ad_hoc", world.lahore_a_2, due)

    with pytest.raises(Conflict) as caught:
        task_services.task_create(actor=station_officer, offender_id=offender.pk, due_on=due)
    assert caught.value.code == "task_exists"


def test_ad_hoc_task_for_an_offender_outside_the_station_is_not_found(
    world, station_officer, policies
):
    offender = located_offender(world.lahore_b_1, IN_LAHORE_B_1)
    with pytest.raises(NotFound):
        task_services.task_create(
            actor=station_officer, offender_id=offender.pk, due_on=timezone.localdate()
        )


def test_reassignment_logs_a_change_for_the_old_and_the_new_beat(world, station_officer, task_a1):
    task = task_services.task_reassign(
        actor=station_officer, task_id=task_a1.pk, beat_code="lahore-a-2"
    )
    assert task.beat == world.lahore_a_2
    assert task.version == task_a1.version + 1
    beats = list(
        TaskChange.objects.filter(task=task).order_by("id").values_list("beat__code", flat=True)
    )
    assert beats == ["lahore-a-1", "lahore-a-1", "lahore-a-2"]


def test_reassignment_stays_within_the_station(world, station_officer, task_a1):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        task_services.task_reassign(
            actor=station_officer, task_id=task_a1.pk, beat_code="lahore-b-1"
        )


def test_another_station_cannot_reassign(world, station_officer_elsewhere, task_a1):
    with pytest.raises(NotFound):
        task_services.task_reassign(
            actor=station_officer_elsewhere, task_id=task_a1.pk, beat_code="lahore-b-1"
        )


def test_change_log_rows_older_than_a_cursor_may_live_are_pruned(world, task_a1, settings):
    from mobile_api.models import TaskChange

    settings.NIGRANI_SYNC_CURSOR_MAX_DAYS = 14
    TaskChange.objects.filter(task=task_a1).update(created_at=timezone.now() - timedelta(days=16))
    TaskChange.objects.create(task=task_a1, beat=world.lahore_a_1)

    assert task_services.task_changes_prune() == 1
    assert TaskChange.objects.filter(task=task_a1).count() == 1


def test_a_release_with_a_task_left_open_from_before_replaces_it(world, task_a1):
    offender = Offender.objects.get(pk=task_a1.offender_id)
    task_services.on_offender_released(offender=offender)

    task_a1.refresh_from_db()
    assert (task_a1.status, task_a1.resolution) == (TaskStatus.CANCELLED, "released")
    fresh = VerificationTask.objects.get(offender=offender, status=TaskStatus.OPEN)
    assert (fresh.source, fresh.beat) == ("release", world.lahore_a_1)


def test_an_address_change_also_settles_a_station_follow_up(
    world, registry_admin, station_officer, beat_officer, client_for
):
    from tests.mobile_api.conftest import visit_body

    offender = register(registry_admin)
    _release(
        registry_admin,
        offender,
        {"text": "House 7", "district": "lahore", "lon": 74.2, "lat": 31.2},
    )
    task = VerificationTask.objects.get(offender=offender)
    client_for(beat_officer).post(
        f"/api/v1/mobile/tasks/{task.pk}/visits/",
        visit_body((31.2, 74.2), outcome="moved"),
        format="json",
    )
    follow_up = VerificationTask.objects.get(offender=offender, kind="follow_up")

    offender_update(
        actor=registry_admin,
        offender_id=offender.pk,
        data={"address": {"text": "Flat 2", "district": "lahore", "lon": 74.7, "lat": 31.5}},
    )

    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.resolution) == (TaskStatus.CANCELLED, "address_changed")


@pytest.mark.parametrize(("interval", "spread"), [(90, 14), (3, 14), (1, 14), (30, 0)])
def test_the_sql_spread_is_the_pure_rule(db, interval, spread):
    offender = "(SELECT %(id)s::bigint AS id) AS o"
    policy = "(SELECT %(interval)s::int AS verification_interval_days) AS p"
    sql = f"SELECT {task_services._SPREAD_SQL} FROM {offender}, {policy}"  # noqa: S608
    with connection.cursor() as cursor:
        for offender_id in range(1, 40):
            cursor.execute(sql, {"id": offender_id, "interval": interval, "spread": spread})
            assert cursor.fetchone()[0] == rules.spread_offset_days(
                offender_id=offender_id, interval_days=interval, spread_days=spread
            )
