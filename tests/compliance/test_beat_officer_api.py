"""Beat officers on /api/v1/violations/: the alert ladder's first step reads and acknowledges
the violations of the offenders on its own beat, and nothing else.

Personas: the beat officer of lahore-a-1 (``beat_officer``), a colleague on lahore-a-2 of the
same station (``beat_officer_elsewhere``).
"""

from datetime import timedelta

import pytest

from audit.models import AuditEvent
from compliance.alerts import alert_escalation_sweep
from compliance.models import AlertNotice, Violation, ViolationStatus
from registry.models import Offender
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/violations/"


def detail(violation_id: int) -> str:
    return f"/api/v1/violations/{violation_id}/"


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def on_my_beat(lahore_a_offender) -> Violation:
    """A violation of an offender on lahore-a-1, the beat officer's beat."""
    return raise_for(lahore_a_offender)[0]


@pytest.fixture
def next_beat(world) -> Violation:
    """A violation of an offender on lahore-a-2: same station, another beat."""
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_2)
    return raise_for(offender)[0]


@pytest.fixture
def other_station(lahore_b_offender, kasur_offender) -> list[Violation]:
    return [raise_for(lahore_b_offender)[0], raise_for(kasur_offender)[0]]


def test_a_beat_officer_lists_only_its_beats_violations(
    client_for, beat_officer, beat_officer_elsewhere, on_my_beat, next_beat, other_station
):
    assert ids(client_for(beat_officer).get(LIST)) == {on_my_beat.pk}
    assert ids(client_for(beat_officer_elsewhere).get(LIST)) == {next_beat.pk}


def test_a_beat_officer_opens_its_beats_violation(client_for, beat_officer, on_my_beat):
    response = client_for(beat_officer).get(detail(on_my_beat.pk))

    assert response.status_code == 200
    assert response.json()["id"] == on_my_beat.pk


def test_another_beats_violation_is_not_found(client_for, beat_officer, next_beat, other_station):
    client = client_for(beat_officer)

    for violation in (next_beat, *other_station):
        response = client.get(detail(violation.pk))
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        acknowledged = client.post(f"{detail(violation.pk)}acknowledge/", {})
        assert acknowledged.status_code == 404
    assert not Violation.objects.exclude(status=ViolationStatus.OPEN).exists()


def test_the_beat_follows_the_offender(client_for, beat_officer, beat_officer_elsewhere, world):
    """The ladder tells the officers of the offender's current beat; those are the ones who
    read its violations, old ones included, after a move within the station."""
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    violation = raise_for(offender)[0]
    Offender.objects.filter(pk=offender.pk).update(beat=world.lahore_a_2)

    assert client_for(beat_officer).get(detail(violation.pk)).status_code == 404
    assert client_for(beat_officer_elsewhere).get(detail(violation.pk)).status_code == 200


def test_a_beat_officer_acknowledges_and_the_ladder_stops(client_for, beat_officer, on_my_beat):
    response = client_for(beat_officer).post(
        f"{detail(on_my_beat.pk)}acknowledge/", {"reason": "on my way"}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["status_changed_by"]) == ("acknowledged", beat_officer.username)
    assert AuditEvent.objects.filter(
        action="transition", object_type="violation", object_id=str(on_my_beat.pk)
    ).get().actor_id == (beat_officer.pk)
    acknowledged = Violation.objects.get(pk=on_my_beat.pk)
    past_the_ack_deadline = on_my_beat.ack_due_at + timedelta(seconds=1)
    assert acknowledged.resolve_due_at > past_the_ack_deadline

    alert_escalation_sweep(now=past_the_ack_deadline)

    assert Violation.objects.get(pk=on_my_beat.pk).escalation_level == 1


@pytest.mark.parametrize("action", ["resolve", "dismiss"])
def test_a_beat_officer_may_not_resolve_or_dismiss(client_for, beat_officer, on_my_beat, action):
    response = client_for(beat_officer).post(f"{detail(on_my_beat.pk)}{action}/", {"reason": "x"})

    assert response.status_code == 403
    assert Violation.objects.get(pk=on_my_beat.pk).status == ViolationStatus.OPEN


def test_a_beat_officers_reads_are_audited(client_for, beat_officer, on_my_beat):
    client = client_for(beat_officer)
    client.get(LIST, {"status": "open"})
    client.get(detail(on_my_beat.pk))

    reads = AuditEvent.objects.filter(
        action="read", object_type="violation", actor_id=beat_officer.pk
    )
    assert sorted(reads.values_list("object_id", flat=True), key=str) == sorted(
        ["", str(on_my_beat.pk)], key=str
    )
    assert reads.get(object_id="").details == {"filters": {"status": "open"}, "count": 1}


def test_the_alert_a_beat_officer_is_told_of_opens_for_it(client_for, beat_officer, on_my_beat):
    """Step 1 of the ladder names the alert id to the beat officer; that id opens."""
    notice = AlertNotice.objects.get(violation=on_my_beat, level=1, officer=beat_officer)

    response = client_for(beat_officer).get(detail(notice.violation_id))

    assert response.status_code == 200


def test_a_beat_officers_list_query_count_does_not_grow_with_rows(
    client_for, beat_officer, lahore_a_offender, django_assert_num_queries
):
    client = client_for(beat_officer)
    for n in range(3):
        raise_for(lahore_a_offender, key=f"few-{n}")
    # The page (the beat is matched through the offender in the same statement) + the audit.
    with django_assert_num_queries(2):
        assert len(client.get(LIST).json()["results"]) == 3

    for n in range(10):
        raise_for(lahore_a_offender, key=f"many-{n}")
    with django_assert_num_queries(2):
        assert len(client.get(LIST).json()["results"]) == 13
