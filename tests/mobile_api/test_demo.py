"""The demo seeder: something to show in ``make run``, and idempotent."""

from accounts.demo import seed_world
from mobile_api.demo import seed_demo_mobile_api
from mobile_api.models import VerificationTask, Visit
from registry.demo import seed_offenders
from registry.models import Offender


def test_seed_demo_gives_every_active_offender_a_task_and_the_beat_some_visits(db):
    seed_world()
    seed_offenders()

    first = seed_demo_mobile_api()

    active = Offender.objects.filter(status="active")
    tasked = VerificationTask.objects.filter(kind="verification").values("offender_id")
    assert not active.exclude(pk__in=tasked).exists()
    assert first.created["visits"] == 4
    outcomes = sorted(Visit.objects.values_list("outcome", "review_status"))
    assert outcomes == [
        ("confirmed", ""),
        ("confirmed", "pending"),
        ("moved", ""),
        ("not_at_home", ""),
    ]
    assert VerificationTask.objects.filter(kind="follow_up").count() == 1

    again = seed_demo_mobile_api()
    assert again.created == {"tasks": 0, "visits": 0}
    assert Visit.objects.count() == 4
