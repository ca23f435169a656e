"""Travel passed on: an acknowledged domestic trip tells the destination district's control
room (dates and purpose only), a cancellation tells it again; the NPB is told of each new
international notice and exports upcoming trips for the FIA (audited, NPB only)."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from push.models import Notification
from registry.services.notices import notice_acknowledge, notice_cancel, notice_file

pytestmark = pytest.mark.django_db


def _domestic(actor, offender):
    today = timezone.localdate()
    return notice_file(
        actor=actor,
        offender_id=offender.pk,
        kind="domestic_travel",
        destination_district="kasur",
        departure_date=today + timedelta(days=10),
        return_date=today + timedelta(days=12),
        purpose="wedding",
    )


def _abroad(actor, offender, *, days=10):
    today = timezone.localdate()
    return notice_file(
        actor=actor,
        offender_id=offender.pk,
        kind="international_travel",
        destination_country="AE",
        destination_city="Dubai",
        departure_date=today + timedelta(days=days),
        return_date=today + timedelta(days=days + 14),
        purpose="work",
    )


def test_an_acknowledged_trip_tells_the_destination_control_room_only(
    world, station_officer, control_room, control_room_elsewhere, offender
):
    notice = _domestic(station_officer, offender)
    assert not Notification.objects.filter(kind="travel_incoming").exists()  # filed, not yet
    notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    told = Notification.objects.get(kind="travel_incoming")
    assert told.officer == control_room_elsewhere  # Kasur's, not the home district's
    assert f"{notice.departure_date:%d-%m-%Y} to {notice.return_date:%d-%m-%Y}" in told.text
    assert "wedding" in told.text
    assert offender.full_name not in told.text
    assert f"#{offender.pk}" not in told.text  # not who: it supervises no one here


def test_a_cancelled_trip_tells_it_again(world, station_officer, control_room_elsewhere, offender):
    notice = _domestic(station_officer, offender)
    notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    notice_cancel(actor=station_officer, notice_id=notice.pk, reason="called off")
    told = Notification.objects.get(kind="travel_incoming_cancelled")
    assert told.officer == control_room_elsewhere
    assert "cancelled" in told.text


def test_a_trip_cancelled_before_acknowledgement_was_never_passed_on(
    world, station_officer, control_room_elsewhere, offender
):
    notice = _domestic(station_officer, offender)
    notice_cancel(actor=station_officer, notice_id=notice.pk, reason="called off")
    assert not Notification.objects.filter(kind__startswith="travel_incoming").exists()


def test_the_npb_is_told_of_each_new_international_notice(
    world, station_officer, registry_admin, control_room, offender
):
    notice = _abroad(station_officer, offender)
    told = Notification.objects.get(kind="international_travel")
    assert told.officer == registry_admin
    assert told.object_id == str(notice.pk)
    assert "AE" in told.text


def test_the_fia_export_has_what_an_immigration_check_needs_and_is_audited(
    world, station_officer, registry_admin, client_for, offender
):
    notice = _abroad(station_officer, offender)
    _domestic(station_officer, offender)  # not international: not exported
    response = client_for(registry_admin).get(
        "/api/v1/travel/international/export/", {"purpose": "FIA letter 12/2026"}
    )
    assert response.status_code == 200, response.content
    (row,) = response.json()["results"]
    assert row["notice_id"] == str(notice.pk)
    assert row["cnic"] == offender.cnic
    assert row["full_name"] == offender.full_name
    assert row["destination_country"] == "AE"
    assert row["destination_city"] == "Dubai"
    assert row["departure_date"] == notice.departure_date.isoformat()
    assert row["return_date"] == notice.return_date.isoformat()
    event = AuditEvent.objects.get(action="export", object_type="international_travel")
    assert event.purpose == "FIA letter 12/2026"
    assert event.details["notice_ids"] == [notice.pk]
    assert offender.cnic not in str(event.details)


def test_the_fia_export_as_csv(world, station_officer, registry_admin, client_for, offender):
    notice = _abroad(station_officer, offender)
    response = client_for(registry_admin).get(
        "/api/v1/travel/international/export/", {"purpose": "FIA check", "as": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["notice_id"] for r in rows] == [str(notice.pk)]
    assert rows[0]["destination_city"] == "Dubai"
    assert AuditEvent.objects.filter(action="export", details__format="csv").exists()


def test_a_trip_already_over_is_not_exported(world, station_officer, registry_admin, offender):
    from liaison.selectors import international_travel_upcoming

    _abroad(station_officer, offender, days=-30)
    assert list(international_travel_upcoming(actor=registry_admin)) == []


def test_only_the_npb_exports_and_a_purpose_is_required(
    world, client_for, registry_admin, control_room, station_officer, api_client
):
    url = "/api/v1/travel/international/export/"
    assert api_client.get(url, {"purpose": "x check"}).status_code == 401
    assert client_for(control_room).get(url, {"purpose": "x check"}).status_code == 403
    assert client_for(station_officer).get(url, {"purpose": "x check"}).status_code == 403
    missing = client_for(registry_admin).get(url)
    assert missing.status_code == 400
    assert not AuditEvent.objects.filter(action="export").exists()
