"""The end of registration: listed and announced 30 days ahead for the NPB and the supervising
district (each once), removed only when an NPB officer confirms it on or after the day."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from common.exceptions import Conflict, Forbidden
from liaison.jobs import announce_registration_ends
from liaison.selectors import registration_ending_list
from liaison.services import registration_end_announce
from push.models import Notification
from registry.models import OffenderStatus, StatusChange
from registry.services.registration_end import offender_registration_end_confirm
from tests.liaison.conftest import offender_under_supervision

pytestmark = pytest.mark.django_db


def _ending(world, days, **fields):
    return offender_under_supervision(
        world, registration_ends_on=timezone.localdate() + timedelta(days=days), **fields
    )


def test_the_list_holds_what_ends_within_30_days_soonest_first(world, registry_admin):
    later = _ending(world, 30)
    soon = _ending(world, 3)
    _ending(world, 31)
    offender_under_supervision(world, registration_ends_on=None)  # registered for life
    _ending(world, 5, status=OffenderStatus.REMOVED, removal_reason="deceased")
    assert list(registration_ending_list(actor=registry_admin)) == [soon, later]


def test_a_district_sees_its_own_and_a_station_nothing(
    world, control_room, control_room_elsewhere, station_officer
):
    mine = _ending(world, 10)
    assert list(registration_ending_list(actor=control_room)) == [mine]
    assert list(registration_ending_list(actor=control_room_elsewhere)) == []
    assert list(registration_ending_list(actor=station_officer)) == []


def test_the_daily_job_tells_the_npb_and_the_district_once(
    world, registry_admin, control_room, control_room_elsewhere
):
    offender = _ending(world, 20)
    assert announce_registration_ends(timestamp=0) == 1
    assert registration_end_announce() == 0  # the second run tells no one again
    told = Notification.objects.filter(kind="registration_ending", object_id=str(offender.pk))
    assert sorted(told.values_list("officer__username", flat=True)) == [
        control_room.username,
        registry_admin.username,
    ]
    assert offender.full_name not in told.first().text


def test_the_record_is_never_removed_silently(world, registry_admin):
    offender = _ending(world, 0)
    registration_end_announce()
    offender.refresh_from_db()
    assert offender.status == OffenderStatus.ACTIVE


def test_the_npb_confirms_on_the_day_and_it_is_audited(world, registry_admin):
    offender = _ending(world, 0)
    offender_registration_end_confirm(actor=registry_admin, offender_id=offender.pk)
    offender.refresh_from_db()
    assert offender.status == OffenderStatus.REMOVED
    assert offender.removal_reason == "registration_period_ended"
    change = StatusChange.objects.get(offender=offender, to_status=OffenderStatus.REMOVED)
    assert change.actor == registry_admin
    assert AuditEvent.objects.filter(
        action="transition", object_type="offender", object_id=str(offender.pk)
    ).exists()


def test_before_the_day_the_confirmation_is_refused(world, registry_admin):
    offender = _ending(world, 1)
    with pytest.raises(Conflict) as caught:
        offender_registration_end_confirm(actor=registry_admin, offender_id=offender.pk)
    assert caught.value.code == "registration_not_ended"
    lifelong = offender_under_supervision(world, registration_ends_on=None)
    with pytest.raises(Conflict):
        offender_registration_end_confirm(actor=registry_admin, offender_id=lifelong.pk)


def test_only_the_npb_confirms(world, control_room):
    offender = _ending(world, -1)
    with pytest.raises(Forbidden):
        offender_registration_end_confirm(actor=control_room, offender_id=offender.pk)


def test_the_endpoints(world, client_for, registry_admin, control_room, api_client):
    offender = _ending(world, -2)
    listed = client_for(control_room).get("/api/v1/registration-ending/")
    assert listed.status_code == 200
    assert [row["offender_id"] for row in listed.json()["results"]] == [offender.pk]
    url = f"/api/v1/offenders/{offender.pk}/registration-end/confirm/"
    assert client_for(control_room).post(url, {}, format="json").status_code == 403
    assert api_client.post(url, {}, format="json").status_code == 401
    response = client_for(registry_admin).post(url, {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "removed"
    assert client_for(registry_admin).post(url, {}, format="json").status_code == 409
