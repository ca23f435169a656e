"""Hand-overs: a release tells the home district and the release station; a transfer (another
district or station) tells the receiving side what it owes and the sending side that it is
done; the receiving station accepts; unaccepted ones become overdue for both districts and
the NPB; until then both sides see the offender (the sending one read-only)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from common.exceptions import Conflict, Forbidden, NotFound
from liaison.models import Handover, HandoverStatus
from liaison.selectors import handover_list
from liaison.services import handover_accept
from push.models import Notification
from registry.models import OffenderStatus
from registry.selectors import offender_access
from registry.services.lifecycle import offender_release
from registry.services.notices import notice_file
from tests.liaison.conftest import IN_KASUR_A, IN_LAHORE_B, offender_under_supervision

pytestmark = pytest.mark.django_db


def _move(actor, offender, district, point):
    return notice_file(
        actor=actor,
        offender_id=offender.pk,
        kind="address_change",
        changed_on=timezone.localdate(),
        details={"address": {"text": "House 9, New Street", "district": district, **point}},
    )


def _told(kind, handover):
    return sorted(
        Notification.objects.filter(kind=kind, object_id=str(handover.pk)).values_list(
            "officer__username", flat=True
        )
    )


@pytest.fixture
def kasur_control_room(control_room_elsewhere):
    return control_room_elsewhere


def test_a_transfer_to_another_district_tells_both_sides(
    world, station_officer, station_officer_kasur, control_room, kasur_control_room, offender
):
    _move(station_officer, offender, "kasur", IN_KASUR_A)
    handover = Handover.objects.get(offender=offender)
    assert handover.status == HandoverStatus.PENDING
    assert (handover.from_station, handover.to_station) == (world.lahore_a, world.kasur_a)
    assert _told("handover_incoming", handover) == sorted(
        [kasur_control_room.username, station_officer_kasur.username]
    )
    assert _told("handover_outgoing", handover) == sorted(
        [control_room.username, station_officer.username]
    )
    incoming = Notification.objects.get(
        kind="handover_incoming", officer=station_officer_kasur
    ).text
    assert f"Next check-in due {offender.next_checkin_due:%d-%m-%Y}" in incoming
    assert f"first verification due {offender.next_verification_due:%d-%m-%Y}" in incoming
    assert offender.full_name not in incoming


def test_a_move_between_stations_of_one_district_tells_the_district_once(
    world, station_officer, station_officer_elsewhere, control_room, offender
):
    _move(station_officer, offender, "lahore", IN_LAHORE_B)
    handover = Handover.objects.get(offender=offender)
    assert handover.to_station == world.lahore_b
    assert _told("handover_incoming", handover) == sorted(
        [control_room.username, station_officer_elsewhere.username]
    )
    assert _told("handover_outgoing", handover) == [station_officer.username]


def test_until_accepted_both_sides_see_the_offender_the_sender_read_only(
    world, station_officer, station_officer_kasur, offender
):
    _move(station_officer, offender, "kasur", IN_KASUR_A)
    assert offender_access(actor=station_officer_kasur, offender_id=offender.pk).kind == "current"
    assert offender_access(actor=station_officer, offender_id=offender.pk).kind == "former"


def test_the_receiving_station_accepts_and_it_is_audited(
    world, station_officer, station_officer_kasur, offender
):
    _move(station_officer, offender, "kasur", IN_KASUR_A)
    handover = Handover.objects.get(offender=offender)
    with pytest.raises(NotFound):
        handover_accept(actor=station_officer, handover_id=handover.pk)  # the sending side
    accepted = handover_accept(actor=station_officer_kasur, handover_id=handover.pk)
    assert accepted.status == HandoverStatus.ACCEPTED
    assert accepted.accepted_by == station_officer_kasur
    assert AuditEvent.objects.filter(
        action="transition", object_type="handover", object_id=str(handover.pk)
    ).exists()
    with pytest.raises(Conflict):
        handover_accept(actor=station_officer_kasur, handover_id=handover.pk)


def test_a_control_room_accepts_only_what_has_no_receiving_station(
    world, station_officer, kasur_control_room, control_room, registry_admin, offender
):
    _move(station_officer, offender, "kasur", IN_KASUR_A)
    to_station = Handover.objects.get(offender=offender)
    with pytest.raises(NotFound):
        handover_accept(actor=kasur_control_room, handover_id=to_station.pk)
    # Back to Lahore at an address without a point: the district alone supervises.
    notice_file(
        actor=registry_admin,
        offender_id=offender.pk,
        kind="address_change",
        changed_on=timezone.localdate(),
        details={"address": {"text": "Somewhere in Lahore", "district": "lahore"}},
    )
    district_only = Handover.objects.get(offender=offender, status=HandoverStatus.PENDING)
    assert district_only.to_station is None
    with pytest.raises(NotFound):
        handover_accept(actor=kasur_control_room, handover_id=district_only.pk)
    accepted = handover_accept(actor=control_room, handover_id=district_only.pk)
    assert accepted.status == HandoverStatus.ACCEPTED


def test_other_roles_cannot_accept(world, station_officer, data_entry, offender):
    _move(station_officer, offender, "kasur", IN_KASUR_A)
    with pytest.raises(Forbidden):
        handover_accept(actor=data_entry, handover_id=Handover.objects.get(offender=offender).pk)


def test_a_second_move_supersedes_the_pending_hand_over(
    world, station_officer, registry_admin, offender
):
    _move(station_officer, offender, "lahore", IN_LAHORE_B)
    first = Handover.objects.get(offender=offender)
    _move(registry_admin, offender, "kasur", IN_KASUR_A)
    first.refresh_from_db()
    assert first.status == HandoverStatus.SUPERSEDED
    assert Handover.objects.filter(offender=offender, status=HandoverStatus.PENDING).count() == 1


def test_unaccepted_after_the_configured_time_is_overdue_for_both_districts_and_the_npb(
    world,
    settings,
    station_officer,
    control_room,
    kasur_control_room,
    control_room_elsewhere,
    registry_admin,
    station_officer_elsewhere,
    offender,
):
    settings.NIGRANI_HANDOVER_ACCEPT_HOURS = 24
    _move(station_officer, offender, "kasur", IN_KASUR_A)
    handover = Handover.objects.get(offender=offender)
    assert list(handover_list(actor=registry_admin, overdue=True)) == []
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        for actor in (registry_admin, control_room, kasur_control_room):
            assert list(handover_list(actor=actor, overdue=True)) == [handover]
        assert list(handover_list(actor=station_officer_elsewhere, overdue=True)) == []


def test_the_handover_endpoints(
    world, client_for, station_officer, station_officer_kasur, control_room, api_client, offender
):
    _move(station_officer, offender, "kasur", IN_KASUR_A)
    handover = Handover.objects.get(offender=offender)
    listed = client_for(control_room).get("/api/v1/handovers/", {"status": "pending"})
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [handover.pk]
    assert listed.json()["results"][0]["to_station"] == "kasur-a"
    url = f"/api/v1/handovers/{handover.pk}/accept/"
    assert api_client.post(url).status_code == 401
    assert client_for(control_room).post(url).status_code == 404
    assert client_for(station_officer).post(url).status_code == 404
    response = client_for(station_officer_kasur).post(url)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"


def test_a_release_tells_the_home_district_and_the_release_station(
    world, prison_officer, control_room, station_officer, station_officer_elsewhere
):
    offender = offender_under_supervision(
        world, status=OffenderStatus.IN_CUSTODY, released_on=None, next_checkin_due=None
    )
    offender_release(
        actor=prison_officer,
        offender_id=offender.pk,
        released_on=timezone.localdate(),
        prison="Camp Jail",
        address={"text": "House 1", "district": "lahore", "lon": 74.25, "lat": 31.25},
    )
    offender.refresh_from_db()
    told = Notification.objects.filter(kind="offender_released", object_id=str(offender.pk))
    assert sorted(told.values_list("officer__username", flat=True)) == sorted(
        [control_room.username, station_officer.username]
    )
    text = told.first().text
    assert f"First check-in due {offender.next_checkin_due:%d-%m-%Y}" in text
    assert f"first verification due {offender.next_verification_due:%d-%m-%Y}" in text
    assert not Handover.objects.filter(offender=offender).exists()  # a release is no hand-over
