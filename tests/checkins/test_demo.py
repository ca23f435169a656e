"""The demo seeder: something to show, and idempotent."""

from accounts.demo import seed_world
from checkins.demo import seed_demo_checkins
from checkins.models import Checkin
from registry.demo import seed_offenders


def test_demo_checkins_are_seeded_once(db, settings):
    settings.DEV_MODE = True
    seed_world()
    seed_offenders()

    first = seed_demo_checkins()
    again = seed_demo_checkins()

    assert first.created["checkins"] == 4
    assert first.created["due_dates"] == 7
    assert first.created["missed"] >= 1
    assert again.created["checkins"] == 0
    assert Checkin.objects.filter(status="confirmed").count() == 4
