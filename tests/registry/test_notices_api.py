"""/api/v1/offenders/{id}/notices/ and /api/v1/notices/{id}/…: wiring, scoping, error shapes,
masking and the audit trail."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from compliance.models import Violation
from registry.models import Notice, NoticeStatus, Offender
from tests.factories import OffenderFactory


@pytest.fixture
def offender(world, deadlines) -> Offender:
    return OffenderFactory(
        district=world.lahore,
        station=world.lahore_a,
        beat=world.lahore_a_1,
        full_name="Tariq Javed",
        cnic="35202-5555555-7",
    )


def notices_url(offender_id: int) -> str:
    return f"/api/v1/offenders/{offender_id}/notices/"


def action_url(notice_id: int, action: str) -> str:
    return f"/api/v1/notices/{notice_id}/{action}/"


def travel_body(**fields) -> dict:
    today = timezone.localdate()
    body = {
        "kind": "domestic_travel",
        "destination_district": "kasur",
        "departure_date": (today + timedelta(days=10)).isoformat(),
        "return_date": (today + timedelta(days=12)).isoformat(),
        "purpose": "visiting relatives",
    }
    body.update(fields)
    return body


def phone_body(phone: str = "0312-4445556", days_ago: int = 1) -> dict:
    return {
        "kind": "phone_change",
        "changed_on": (timezone.localdate() - timedelta(days=days_ago)).isoformat(),
        "details": {"phone": phone},
    }


# --- filing --------------------------------------------------------------------------------


def test_station_officer_files_a_travel_notice(client_for, station_officer, offender):
    response = client_for(station_officer).post(
        notices_url(offender.pk), travel_body(), format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "domestic_travel"
    assert body["status"] == "filed"
    assert body["offender"] == offender.pk
    assert body["station"] == "lahore-a"
    assert body["destination_district"] == "kasur"
    assert body["is_late"] is False
    assert body["filed_by"] == station_officer.username
    assert "cnic" not in body


def test_phone_change_answer_masks_the_new_number(client_for, station_officer, offender):
    response = client_for(station_officer).post(
        notices_url(offender.pk), phone_body("0312-4445556"), format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["details"] == {"phone": "+92312*****56"}
    assert "4445556" not in response.content.decode()
    offender.refresh_from_db()
    assert offender.phone == "+923124445556"


def test_late_notice_is_accepted_flagged_and_raises_a_violation(
    client_for, station_officer, offender
):
    response = client_for(station_officer).post(
        notices_url(offender.pk), phone_body(days_ago=9), format="json"
    )

    assert response.status_code == 201
    assert response.json()["is_late"] is True
    assert (
        Violation.objects.filter(kind="late_notice", cause_id=str(response.json()["id"])).count()
        == 1
    )


def test_bad_notice_is_400_with_field_errors(client_for, station_officer, offender):
    client = client_for(station_officer)

    bad_phone = client.post(notices_url(offender.pk), phone_body("12"), format="json")
    bad_shape = client.post(
        notices_url(offender.pk), {"kind": "teleport", "changed_on": "soon"}, format="json"
    )

    assert bad_phone.status_code == 400
    assert bad_phone.json()["code"] == "validation_error"
    assert "details.phone" in bad_phone.json()["fields"]
    assert bad_shape.status_code == 400
    assert set(bad_shape.json()["fields"]) == {"kind", "changed_on"}
    assert not Notice.objects.exists()


@pytest.mark.parametrize("persona", ["control_room", "data_entry", "beat_officer", "auditor"])
def test_roles_that_may_not_file_get_403(request, client_for, offender, persona):
    response = client_for(request.getfixturevalue(persona)).post(
        notices_url(offender.pk), travel_body(), format="json"
    )

    assert response.status_code == 403
    assert not Notice.objects.exists()


def test_other_station_filing_without_the_cnic_is_404(
    client_for, station_officer_elsewhere, offender
):
    response = client_for(station_officer_elsewhere).post(
        notices_url(offender.pk), travel_body(), format="json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("cnic", ["123", "not-a-cnic", "35202-1111111-1"])
def test_counter_filing_cannot_probe_ids_existing_and_missing_answer_alike(
    client_for, station_officer_elsewhere, offender, cnic
):
    client = client_for(station_officer_elsewhere)
    missing_id = Offender.objects.order_by("-pk").first().pk + 1000

    existing = client.post(notices_url(offender.pk), travel_body(cnic=cnic), format="json")
    missing = client.post(notices_url(missing_id), travel_body(cnic=cnic), format="json")

    def _body(response) -> dict:
        return {k: v for k, v in response.json().items() if k != "request_id"}

    assert existing.status_code == missing.status_code
    assert _body(existing) == _body(missing)
    assert existing.status_code == (404 if cnic == "35202-1111111-1" else 400)
    assert not Notice.objects.exists()


def test_counter_filing_with_the_cnic_reaches_the_supervising_station(
    client_for, station_officer_elsewhere, station_officer, offender
):
    filed = client_for(station_officer_elsewhere).post(
        notices_url(offender.pk), travel_body(cnic="35202-5555555-7"), format="json"
    )

    assert filed.status_code == 201, filed.content
    assert filed.json()["station"] == "lahore-a"
    # Routed: the supervising station sees it, the counter that took it does not.
    listed = client_for(station_officer).get(notices_url(offender.pk)).json()["results"]
    assert [row["id"] for row in listed] == [filed.json()["id"]]
    assert client_for(station_officer_elsewhere).get(notices_url(offender.pk)).status_code == 404


# --- reading -------------------------------------------------------------------------------


@pytest.fixture
def filed(client_for, station_officer, offender) -> dict:
    response = client_for(station_officer).post(
        notices_url(offender.pk), travel_body(), format="json"
    )
    assert response.status_code == 201
    return response.json()


@pytest.mark.parametrize(
    "persona", ["registry_admin", "data_entry", "station_officer", "control_room"]
)
def test_notice_readers_in_scope_see_the_offenders_notices(
    request, client_for, offender, filed, persona
):
    response = client_for(request.getfixturevalue(persona)).get(notices_url(offender.pk))

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [filed["id"]]


@pytest.mark.parametrize(
    "persona", ["station_officer_elsewhere", "control_room_elsewhere", "data_entry_elsewhere"]
)
def test_notice_readers_elsewhere_get_404(request, client_for, offender, filed, persona):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(notices_url(offender.pk)).status_code == 404
    assert client.post(action_url(filed["id"], "acknowledge")).status_code in (403, 404)


@pytest.mark.parametrize("persona", ["beat_officer", "auditor", "investigating_officer"])
def test_roles_without_notice_read_get_403(request, client_for, offender, filed, persona):
    response = client_for(request.getfixturevalue(persona)).get(notices_url(offender.pk))

    assert response.status_code == 403


def test_list_read_is_audited(client_for, control_room, offender, filed):
    client_for(control_room).get(notices_url(offender.pk))

    event = AuditEvent.objects.get(action="read", actor_id=control_room.pk)
    assert (event.object_type, event.object_id) == ("offender", str(offender.pk))
    assert event.details == {"view": "notices", "count": 1}


# --- handling ------------------------------------------------------------------------------


def test_acknowledge_cancel_and_409_after(client_for, station_officer, filed):
    client = client_for(station_officer)

    acknowledged = client.post(action_url(filed["id"], "acknowledge"))
    cancelled = client.post(action_url(filed["id"], "cancel"), {"reason": "wedding postponed"})
    again = client.post(action_url(filed["id"], "acknowledge"))

    assert acknowledged.status_code == 200
    assert acknowledged.json()["acknowledged_by"] == station_officer.username
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "wedding postponed"
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_close_on_return(client_for, station_officer, offender):
    client = client_for(station_officer)
    today = timezone.localdate()
    notice = client.post(
        notices_url(offender.pk),
        travel_body(
            departure_date=(today - timedelta(days=4)).isoformat(),
            return_date=(today - timedelta(days=1)).isoformat(),
        ),
        format="json",
    ).json()

    early = client.post(action_url(notice["id"], "close"), {"returned_on": today.isoformat()})
    client.post(action_url(notice["id"], "acknowledge"))
    missing_date = client.post(action_url(notice["id"], "close"), {})
    closed = client.post(action_url(notice["id"], "close"), {"returned_on": today.isoformat()})

    assert early.status_code == 409
    assert missing_date.status_code == 400
    assert "returned_on" in missing_date.json()["fields"]
    assert closed.status_code == 200
    assert closed.json()["status"] == NoticeStatus.CLOSED
    assert closed.json()["returned_on"] == today.isoformat()


def test_cancel_without_reason_is_400(client_for, station_officer, filed):
    response = client_for(station_officer).post(action_url(filed["id"], "cancel"), {})

    assert response.status_code == 400
    assert "reason" in response.json()["fields"]


def test_control_room_reads_but_cannot_handle_notices(client_for, control_room, filed):
    response = client_for(control_room).post(action_url(filed["id"], "acknowledge"))

    assert response.status_code == 403
    assert Notice.objects.get(pk=filed["id"]).status == NoticeStatus.FILED


def test_unknown_notice_is_404(client_for, registry_admin, deadlines):
    assert client_for(registry_admin).post(action_url(987654, "acknowledge")).status_code == 404


def test_audit_trail_holds_no_name_or_phone(client_for, station_officer, offender):
    client = client_for(station_officer)
    client.post(notices_url(offender.pk), phone_body("0312-4445556"), format="json")
    client.post(
        notices_url(offender.pk),
        {
            "kind": "name_change",
            "changed_on": timezone.localdate().isoformat(),
            "details": {"full_name": "Naveed Akhtar"},
        },
        format="json",
    )
    client.get(notices_url(offender.pk))

    dumped = str(list(AuditEvent.objects.values()))
    assert AuditEvent.objects.count() >= 5
    for protected in ("4445556", "Naveed", "Akhtar", "Tariq", "5555555"):
        assert protected not in dumped


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"departure_date": "0001-01-01"}, "departure_date"),
        ({"departure_date": "9999-12-31", "return_date": "9999-12-31"}, "departure_date"),
        ({"return_date": "9999-12-31"}, "return_date"),
    ],
)
def test_out_of_range_travel_dates_are_a_400_on_the_field(
    client_for, station_officer, offender, fields, field
):
    response = client_for(station_officer).post(
        notices_url(offender.pk), travel_body(**fields), format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Notice.objects.exists()


@pytest.mark.parametrize("changed_on", ["0001-01-01", "9999-12-31"])
def test_out_of_range_change_date_is_a_400_on_the_field(
    client_for, station_officer, offender, changed_on
):
    response = client_for(station_officer).post(
        notices_url(offender.pk), {**phone_body(), "changed_on": changed_on}, format="json"
    )

    assert response.status_code == 400
    assert "changed_on" in response.json()["fields"]
