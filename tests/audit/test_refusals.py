"""Refused access to offender data is audited in one place: every 403 and 404 of an
offender-data endpoint, capped per officer per minute, with a notice to the NPB on a burst."""

from datetime import UTC, datetime

import pytest
import time_machine

from audit.models import AuditAction, AuditEvent, DenialWindow
from audit.services import AUDIT_DENIALS, DENIALS_CAPPED
from push.models import Notification
from push.services import DENIAL_BURST
from tests.registry.offender_data import BODY, register

pytestmark = pytest.mark.django_db

CONVICTION = {
    "fir_number": "77/2023",
    "police_station": "Samanabad",
    "court": "Sessions Court Lahore",
    "case_number": "SC-12/2023",
    "conviction_date": "2023-09-14",
    "sentence": "7 years rigorous imprisonment",
    "sections": ["PPC 377"],
    "victim_minor": False,
}
T0 = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)


@pytest.fixture
def offender(world, registry_admin):
    """Supervised in Lahore, station lahore-a."""
    return register(registry_admin)


def _refusals(officer) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            actor_id=officer.pk, outcome__in=["denied", "not_found"]
        ).order_by("id")
    )


def test_another_districts_offender_is_a_404_and_recorded_without_protected_values(
    client_for, control_room_elsewhere, offender
):
    response = client_for(control_room_elsewhere).get(
        f"/api/v1/offenders/{offender.pk}/?purpose=supervision"
    )
    assert response.status_code == 404

    (event,) = _refusals(control_room_elsewhere)
    assert event.action == AuditAction.READ
    assert event.outcome == "not_found"
    assert (event.object_type, event.object_id) == ("offender", str(offender.pk))
    assert event.details == {"view": "registry:offender-detail", "method": "GET"}
    stored = str(AuditEvent.objects.filter(pk=event.pk).values().get())
    assert BODY["cnic"] not in stored
    assert BODY["full_name"] not in stored


def test_a_refused_write_is_recorded_as_the_write_it_attempted(
    client_for, data_entry_elsewhere, offender
):
    response = client_for(data_entry_elsewhere).post(
        f"/api/v1/offenders/{offender.pk}/convictions/", CONVICTION, format="json"
    )
    assert response.status_code in (403, 404)
    (event,) = _refusals(data_entry_elsewhere)
    assert event.action == AuditAction.CREATE
    assert event.object_id == str(offender.pk)


def test_a_permission_403_is_recorded_as_denied(client_for, beat_officer, offender):
    response = client_for(beat_officer).post(
        f"/api/v1/offenders/{offender.pk}/release/", {}, format="json"
    )
    assert response.status_code == 403
    (event,) = _refusals(beat_officer)
    assert event.outcome == "denied"
    assert event.action == AuditAction.CREATE


def test_allowed_requests_and_other_apps_refusals_are_not_recorded_as_refusals(
    client_for, registry_admin, control_room_elsewhere, offender
):
    assert (
        client_for(registry_admin)
        .get(f"/api/v1/offenders/{offender.pk}/?purpose=supervision")
        .status_code
        == 200
    )
    assert client_for(control_room_elsewhere).get("/api/v1/audit/events/").status_code == 403
    assert client_for(control_room_elsewhere).get("/api/v1/no-such-thing/").status_code == 404
    assert _refusals(registry_admin) == []
    assert _refusals(control_room_elsewhere) == []


def test_the_counter_lookup_records_its_miss_once(client_for, station_officer, offender):
    response = client_for(station_officer).post(
        "/api/v1/offenders/lookup/", {"cnic": "35202-7654321-9"}, format="json"
    )
    assert response.status_code == 404
    (event,) = _refusals(station_officer)
    assert event.purpose == "counter_lookup"  # the view's own, richer event; no second one


def test_a_flood_is_capped_per_officer_per_minute_and_the_npb_told_once(
    client_for, settings, control_room_elsewhere, auditor, registry_admin, offender
):
    settings.NIGRANI_AUDIT_DENIALS_PER_MINUTE = 5
    settings.NIGRANI_AUDIT_DENIAL_BURST = 3
    client = client_for(control_room_elsewhere)
    with time_machine.travel(T0, tick=False):
        for _ in range(12):
            assert (
                client.get(f"/api/v1/offenders/{offender.pk}/?purpose=supervision").status_code
                == 404
            )

    assert len(_refusals(control_room_elsewhere)) == 5
    capped = AuditEvent.objects.filter(
        actor_id=control_room_elsewhere.pk, object_type=AUDIT_DENIALS
    ).get()
    assert capped.outcome == DENIALS_CAPPED
    assert capped.details["cap_per_minute"] == 5
    assert DenialWindow.objects.get(actor_id=control_room_elsewhere.pk).count == 12
    # The NPB's auditor is told, once; nobody else.
    (notice,) = Notification.objects.filter(kind=DENIAL_BURST)
    assert notice.officer == auditor
    assert notice.object_id == str(control_room_elsewhere.pk)
    assert "3 requests on offender data refused" in notice.text

    # The next minute starts a new window.
    with time_machine.travel(T0.replace(minute=1), tick=False):
        assert (
            client.get(f"/api/v1/offenders/{offender.pk}/?purpose=supervision").status_code == 404
        )
    assert len(_refusals(control_room_elsewhere)) == 6
    assert Notification.objects.filter(kind=DENIAL_BURST).count() == 1
