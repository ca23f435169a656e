"""The counter's exact-CNIC lookup is rate-limited per officer and per station, and a burst of
misses raises a security notice (issue 11, item 13): it answers nationally, so unlimited it
is an oracle for who is on the register (150 random CNICs took 8.4 s)."""

import pytest

from accounts.roles import AgencyKind
from audit.models import AuditEvent
from push.models import Notification
from tests.conftest import make_officer
from tests.registry.offender_data import register

URL = "/api/v1/offenders/lookup/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.NIGRANI_LOOKUP_WINDOW_SECONDS = 600
    settings.NIGRANI_LOOKUP_PER_OFFICER = 5
    settings.NIGRANI_LOOKUP_PER_STATION = 8
    settings.NIGRANI_LOOKUP_MISS_BURST = 3


def _miss(client, n: int):
    return client.post(URL, {"cnic": f"35202-{9000000 + n:07d}-1"}, format="json")


def test_an_officer_is_limited_with_retry_after(client_for, world, station_officer, limits):
    client = client_for(station_officer)
    answers = [_miss(client, n).status_code for n in range(6)]

    assert answers == [404] * 5 + [429]
    refused = _miss(client, 7)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 0 < int(refused["Retry-After"]) <= 600


def test_a_station_is_limited_across_its_officers(client_for, world, station_officer, limits):
    colleague = make_officer(
        "station-officer-2",
        "station_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
    )
    for n in range(5):
        assert _miss(client_for(station_officer), n).status_code == 404
    answers = [_miss(client_for(colleague), 10 + n).status_code for n in range(4)]

    assert answers == [404, 404, 404, 429]


def test_found_lookups_count_too(client_for, world, station_officer, registry_admin, limits):
    offender = register(registry_admin)
    client = client_for(station_officer)
    for _ in range(5):
        assert client.post(URL, {"cnic": offender.cnic}, format="json").status_code == 200

    assert client.post(URL, {"cnic": offender.cnic}, format="json").status_code == 429


def test_a_burst_of_misses_raises_one_security_notice(
    client_for, world, station_officer, system_admin, limits
):
    client = client_for(station_officer)
    for n in range(5):
        _miss(client, n)

    notices = Notification.objects.filter(kind="counter_lookup_burst")
    assert list(notices.values_list("officer_id", flat=True)) == [system_admin.pk]
    event = AuditEvent.objects.get(outcome="lookup_burst")
    assert event.actor_id == station_officer.pk
    assert "35202" not in str(event.details)


def test_records_past_the_window_are_pruned(client_for, world, station_officer, limits):
    from datetime import timedelta

    from django.utils import timezone

    from registry.models import CounterLookup
    from registry.services.lookup import counter_lookups_prune

    _miss(client_for(station_officer), 1)

    assert counter_lookups_prune() == 0
    assert counter_lookups_prune(now=timezone.now() + timedelta(seconds=601)) == 1
    assert not CounterLookup.objects.exists()


def test_the_prune_is_scheduled():
    from procrastinate.contrib.django import app

    from registry import jobs

    periodic = app.periodic_registry.periodic_tasks[("registry.prune_counter_lookups", "")]
    assert periodic.task is jobs.prune_counter_lookups
    assert jobs.prune_counter_lookups(timestamp=1_795_000_000) == 0
