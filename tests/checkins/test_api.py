"""Check-in endpoints: wiring, permissions, the error body, and the due list."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from checkins.models import StationTerminal
from registry.models import Offender
from tests.checkins.conftest import (
    AT_STATION,
    FAR_AWAY,
    sent_code,
    start,
    supervised_offender,
    totp_now,
    verify,
    wrong,
)
from tests.conftest import PASSWORD
from tests.helpers import query_count

URL = "/api/v1/checkins/"
HERE = {"lon": AT_STATION.lon, "lat": AT_STATION.lat, "accuracy_m": AT_STATION.accuracy_m}


def _start(client, offender, **body):
    return client.post(URL, {"offender": offender.pk, "location": HERE, **body}, format="json")


def test_start_answers_201_with_status_expiry_and_hint_never_the_code(
    client_for, station_officer, offender
):
    response = _start(client_for(station_officer), offender)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "otp_sent"
    assert body["phone_hint"] == "+92 3** ***4567"
    assert body["expires_at"]
    assert body["challenge"]["attempts_left"] == 5
    assert body["offender"] == offender.pk
    assert sent_code(body["id"]) not in response.content.decode()
    assert "code" not in body


def test_start_outside_the_station_is_400_with_the_reason(client_for, station_officer, offender):
    far = {"lon": FAR_AWAY.lon, "lat": FAR_AWAY.lat, "accuracy_m": 10}
    response = _start(client_for(station_officer), offender, location=far)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "outside_station"
    assert "location" in body["fields"]
    assert body["request_id"] is not None


def test_start_from_an_enrolled_terminal_by_device_token(api_client, station_officer, offender):
    from accounts.services import device_token_issue

    issued = device_token_issue(officer=station_officer, device_id="counter-1", device_name="pc")
    StationTerminal.objects.create(station=station_officer.station, device_id="counter-1")
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issued.token}", HTTP_X_DEVICE_ID="counter-1"
    )

    response = api_client.post(URL, {"offender": offender.pk}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["via_terminal"] is True


def test_bad_input_is_400_on_the_fields(client_for, station_officer, offender):
    client = client_for(station_officer)
    bad_location = _start(client, offender, location={"lon": 500, "lat": 31, "accuracy_m": -1})
    assert bad_location.status_code == 400
    assert set(bad_location.json()["fields"]["location"]) == {"lon", "accuracy_m"}
    neither = client.post(URL, {"location": HERE}, format="json")
    assert neither.status_code == 400
    assert "offender" in neither.json()["fields"]
    bad_cnic = client.post(URL, {"cnic": "123", "location": HERE}, format="json")
    assert bad_cnic.status_code == 400
    assert "cnic" in bad_cnic.json()["fields"]
    assert "123" not in bad_cnic.json()["message"]


def test_offender_of_another_station_is_404(client_for, station_officer, world):
    elsewhere = supervised_offender(world, station=world.lahore_b)
    assert _start(client_for(station_officer), elsewhere).status_code == 404


def test_anonymous_is_401_and_other_roles_403(api_client, client_for, control_room, offender):
    assert api_client.post(URL, {}, format="json").status_code == 401
    assert _start(client_for(control_room), offender).status_code == 403
    assert client_for(control_room).get(f"{URL}due/").status_code == 403


def test_verify_flow_over_http(client_for, station_officer, offender):
    client = client_for(station_officer)
    checkin_id = _start(client, offender).json()["id"]
    code = sent_code(checkin_id)
    verify_url = f"{URL}{checkin_id}/verify/"

    refused = client.post(verify_url, {"code": wrong(code), "unchanged": True}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "wrong_code"
    assert refused.json()["attempts_left"] == 4

    confirmed = client.post(verify_url, {"code": code, "unchanged": True}, format="json")
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["status"] == "confirmed"
    assert body["method"] == "sms_otp"
    assert body["next_due_on"] == (timezone.localdate() + timedelta(days=30)).isoformat()

    again = client.post(verify_url, {"code": code, "unchanged": True}, format="json")
    assert again.status_code == 409


def test_lock_is_423_and_expiry_410(client_for, station_officer, offender, world):
    client = client_for(station_officer)
    checkin_id = _start(client, offender).json()["id"]
    code = sent_code(checkin_id)
    statuses = [
        client.post(
            f"{URL}{checkin_id}/verify/", {"code": wrong(code), "unchanged": True}, format="json"
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [400, 400, 400, 400, 423, 423]

    other = supervised_offender(world)
    other_id = _start(client, other).json()["id"]
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        expired = client.post(
            f"{URL}{other_id}/verify/",
            {"code": sent_code(other_id), "unchanged": True},
            format="json",
        )
    assert expired.status_code == 410
    assert expired.json()["code"] == "challenge_expired"


def test_resend_too_soon_is_429_with_retry_after(client_for, station_officer, offender):
    client = client_for(station_officer)
    checkin_id = _start(client, offender).json()["id"]

    response = client.post(f"{URL}{checkin_id}/resend/")

    assert response.status_code == 429
    assert response.json()["retry_after"] > 0
    assert int(response["Retry-After"]) == response.json()["retry_after"]


def test_override_over_http_shows_the_second_officer(
    client_for, station_officer, second_officer, offender
):
    client = client_for(station_officer)
    checkin_id = _start(client, offender).json()["id"]

    response = client.post(
        f"{URL}{checkin_id}/override/",
        {
            "username": second_officer.username,
            "password": PASSWORD,
            "otp": totp_now(second_officer),
            "reason": "offender's phone was stolen",
            "unchanged": True,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["method"], body["is_override"], body["override_by"]) == (
        "override",
        True,
        second_officer.username,
    )
    detail = client.get(f"{URL}{checkin_id}/").json()
    assert detail["override_by"] == second_officer.username
    listed = client.get(URL, {"offender": offender.pk}).json()["results"]
    assert listed[0]["is_override"] is True
    timeline = client_for(station_officer).get(
        f"/api/v1/offenders/{offender.pk}/timeline/", {"purpose": "checkin"}
    )
    summaries = [e["summary"] for e in timeline.json()["results"] if e["kind"] == "checkin"]
    assert summaries == [f"checked in at lahore-a (override, four eyes: {second_officer.username})"]


def test_override_with_a_wrong_password_is_400(
    client_for, station_officer, second_officer, offender
):
    client = client_for(station_officer)
    checkin_id = _start(client, offender).json()["id"]
    response = client.post(
        f"{URL}{checkin_id}/override/",
        {
            "username": second_officer.username,
            "password": "nope",
            "otp": totp_now(second_officer),
            "reason": "phone lost",
            "unchanged": True,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_checkin_detail_is_scoped(
    client_for,
    station_officer,
    station_officer_elsewhere,
    control_room,
    control_room_elsewhere,
    registry_admin,
    offender,
):
    checkin = start(station_officer, offender)
    url = f"{URL}{checkin.pk}/"
    assert client_for(station_officer).get(url).status_code == 200
    assert client_for(control_room).get(url).status_code == 200
    assert client_for(registry_admin).get(url).status_code == 200
    assert client_for(station_officer_elsewhere).get(url).status_code == 404
    assert client_for(control_room_elsewhere).get(url).status_code == 404
    assert client_for(station_officer_elsewhere).post(f"{url}resend/").status_code == 404
    event = AuditEvent.objects.filter(action="read", object_type="checkin", outcome="ok").latest(
        "id"
    )
    assert event.details == {"offender_id": offender.pk}
    # The refusals are audited too (audit.middleware), with the requested id only.
    refused = AuditEvent.objects.filter(object_type="checkin", outcome="not_found")
    assert refused.count() == 3
    assert set(refused.values_list("object_id", flat=True)) == {str(checkin.pk)}


def test_list_of_an_offender_the_caller_does_not_see_is_not_found(
    client_for, station_officer, station_officer_elsewhere, offender
):
    start(station_officer, offender)
    response = client_for(station_officer_elsewhere).get(URL, {"offender": offender.pk})
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="read", object_type="checkin").exists()
    missing = client_for(station_officer).get(URL, {"offender": 10**9})
    assert missing.status_code == 404


def test_list_keeps_the_stations_history_of_an_offender_transferred_away(
    client_for, station_officer, offender, world
):
    checkin = start(station_officer, offender)
    Offender.objects.filter(pk=offender.pk).update(station=world.lahore_b)
    response = client_for(station_officer).get(URL, {"offender": offender.pk})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [checkin.pk]


def test_list_needs_the_offender_filter(client_for, station_officer):
    response = client_for(station_officer).get(URL)
    assert response.status_code == 400
    assert "offender" in response.json()["fields"]


# --- the due list ------------------------------------------------------------------------------


@pytest.fixture
def due_world(world):
    today = timezone.localdate()
    return {
        "overdue": supervised_offender(world, next_checkin_due=today - timedelta(days=3)),
        "due": supervised_offender(world, next_checkin_due=today),
        "in_window": supervised_offender(world, next_checkin_due=today + timedelta(days=5)),
        "later": supervised_offender(world, next_checkin_due=today + timedelta(days=20)),
        "elsewhere": supervised_offender(
            world, station=world.lahore_b, next_checkin_due=today - timedelta(days=1)
        ),
        "absconded": supervised_offender(
            world, status="absconded", next_checkin_due=today - timedelta(days=1)
        ),
    }


def test_due_list_shows_the_stations_offenders_due_in_window_or_overdue(
    client_for, station_officer, due_world
):
    response = client_for(station_officer).get(f"{URL}due/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["offender"], row["state"]) for row in rows] == [
        (due_world["overdue"].pk, "overdue"),
        (due_world["due"].pk, "due"),
        (due_world["in_window"].pk, "in_window"),
    ]
    assert rows[0]["days_overdue"] == 3
    assert rows[0]["full_name"] == due_world["overdue"].full_name
    event = AuditEvent.objects.filter(action="search", object_type="offender").latest("id")
    assert (event.purpose, event.details) == (
        "checkin",
        {"view": "checkins_due", "state": "all", "count": 3},
    )


@pytest.mark.parametrize("state", ["due", "in_window", "overdue"])
def test_due_list_filters_by_state(client_for, station_officer, due_world, state):
    rows = client_for(station_officer).get(f"{URL}due/", {"state": state}).json()["results"]
    assert [row["offender"] for row in rows] == [due_world[state].pk]


def test_due_list_state_is_validated(client_for, station_officer):
    response = client_for(station_officer).get(f"{URL}due/", {"state": "soon"})
    assert response.status_code == 400
    assert "state" in response.json()["fields"]


def test_last_checkin_is_shown(client_for, station_officer, world):
    offender = supervised_offender(world, next_checkin_due=timezone.localdate())
    checkin = start(station_officer, offender)
    verify(station_officer, checkin, sent_code(checkin))
    offender.next_checkin_due = timezone.localdate()
    offender.save(update_fields=["next_checkin_due"])

    row = client_for(station_officer).get(f"{URL}due/").json()["results"][0]

    assert row["last_checkin_on"] == timezone.localdate().isoformat()


def test_due_list_query_count_does_not_grow_with_rows(
    client_for, station_officer, world, django_assert_max_num_queries
):
    client = client_for(station_officer)
    today = timezone.localdate()
    supervised_offender(world, next_checkin_due=today)
    one_row = query_count(lambda: client.get(f"{URL}due/"))
    for n in range(14):
        supervised_offender(world, next_checkin_due=today - timedelta(days=n))
    # The page (the last check-in is the register's column), and the audit append (one insert,
    # no lock).
    with django_assert_max_num_queries(2) as captured:
        response = client.get(f"{URL}due/")
    assert len(response.json()["results"]) == 15
    assert len(captured) == one_row


def test_checkin_list_query_count_does_not_grow_with_rows(
    client_for, station_officer, second_officer, offender, django_assert_max_num_queries
):
    client = client_for(station_officer)
    checkin = start(station_officer, offender)
    verify(station_officer, checkin, sent_code(checkin))
    one_row = query_count(lambda: client.get(URL, {"offender": offender.pk}))
    for _ in range(4):
        start(station_officer, offender)  # open, superseded, …
    # Whether the caller sees the offender, the page (station, officers, challenge joined),
    # the two notice lists, the audit append.
    with django_assert_max_num_queries(9) as captured:
        response = client.get(URL, {"offender": offender.pk})
    assert len(response.json()["results"]) == 5
    assert len(captured) == one_row


def test_a_device_token_not_enrolled_as_terminal_needs_a_location(
    api_client, station_officer, offender
):
    from accounts.services import device_token_issue

    issued = device_token_issue(officer=station_officer, device_id="phone-1", device_name="phone")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}", HTTP_X_DEVICE_ID="phone-1")
    assert api_client.post(URL, {"offender": offender.pk}, format="json").status_code == 400
    response = api_client.post(URL, {"offender": offender.pk, "location": HERE}, format="json")
    assert response.status_code == 201
    assert response.json()["via_terminal"] is False
