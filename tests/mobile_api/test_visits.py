"""Visits through the officer's API: outcomes, flags and review, idempotent replay, 409 for a
task that left the beat, 404 outside the assignments, photos, the batch."""

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from audit.models import AuditEvent
from compliance.models import Violation
from mobile_api.models import TaskStatus, VerificationTask, Visit, VisitPhoto
from mobile_api.services import tasks as task_services
from mobile_api.services import visits as visit_services
from push.models import Notification
from registry.models import Address, Offender
from tests.mobile_api.conftest import (
    IN_LAHORE_A_1,
    IN_LAHORE_A_2,
    jpeg_with_gps_exif,
    located_offender,
    open_task,
    upload,
    visit_body,
    visits_url,
)

NORTH_150_M = (IN_LAHORE_A_1[0] + 150 / 111_195, IN_LAHORE_A_1[1])


@pytest.fixture
def officer_client(client_for, beat_officer):
    return client_for(beat_officer)


def post_visit(client, task, body, **extra):
    return client.post(visits_url(task), body, format="json", **extra)


# --- outcomes -------------------------------------------------------------------------------


def test_confirmed_visit_at_the_address_closes_the_task_and_schedules_the_next(
    officer_client, task_a1
):
    response = post_visit(officer_client, task_a1, visit_body())

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["counted"] is True
    assert body["flagged"] is False
    assert body["task"]["status"] == "closed"
    assert body["distance_m"] == 0.0
    task_a1.refresh_from_db()
    assert (task_a1.status, task_a1.resolution) == (TaskStatus.CLOSED, "confirmed")
    offender = Offender.objects.get(pk=task_a1.offender_id)
    assert offender.next_verification_due == timezone.localdate() + timedelta(days=180)
    event = AuditEvent.objects.filter(object_type="visit", action="create").get()
    assert event.details["outcome"] == "confirmed"
    assert offender.full_name not in str(event.details)


def test_confirmed_visit_far_from_the_address_is_flagged_and_does_not_count(
    officer_client, task_a1, client_for, station_officer
):
    response = post_visit(officer_client, task_a1, visit_body(NORTH_150_M))

    body = response.json()
    assert response.status_code == 200
    assert (body["counted"], body["flagged"], body["flag_reasons"]) == (False, True, ["too_far"])
    assert body["distance_m"] == pytest.approx(150, abs=1)
    task_a1.refresh_from_db()
    assert task_a1.status == TaskStatus.OPEN
    queue = client_for(station_officer).get("/api/v1/verification/reviews/").json()["results"]
    assert [v["id"] for v in queue] == [body["id"]]
    assert queue[0]["flag_reasons"] == ["too_far"]


def test_accepting_a_flagged_visit_counts_it(officer_client, task_a1, client_for, station_officer):
    visit_id = post_visit(officer_client, task_a1, visit_body(mock_location=True)).json()["id"]
    station = client_for(station_officer)

    response = station.post(
        f"/api/v1/verification/reviews/{visit_id}/accept/", {"reason": "known GPS app bug"}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["review_status"] == "accepted"
    task_a1.refresh_from_db()
    assert task_a1.status == TaskStatus.CLOSED
    assert Visit.objects.get(pk=visit_id).counted
    event = AuditEvent.objects.filter(object_type="visit", action="transition").get()
    assert event.details["to"] == "accepted"
    assert "GPS" not in str(event.details)  # the free-text reason stays on the row
    again = station.post(f"/api/v1/verification/reviews/{visit_id}/reject/", {"reason": "x"})
    assert again.status_code == 409


def test_rejecting_a_flagged_visit_keeps_the_task_open(
    officer_client, task_a1, client_for, station_officer
):
    visit_id = post_visit(officer_client, task_a1, visit_body(fix_age_s=3600)).json()["id"]
    response = client_for(station_officer).post(
        f"/api/v1/verification/reviews/{visit_id}/reject/", {"reason": "fix an hour old"}
    )
    assert response.status_code == 200
    task_a1.refresh_from_db()
    assert task_a1.status == TaskStatus.OPEN
    assert not Visit.objects.get(pk=visit_id).counted


def test_review_needs_a_reason_and_the_reviewers_station(
    officer_client, task_a1, client_for, station_officer_elsewhere, station_officer
):
    visit_id = post_visit(officer_client, task_a1, visit_body(mock_location=True)).json()["id"]
    url = f"/api/v1/verification/reviews/{visit_id}/accept/"
    assert client_for(station_officer_elsewhere).post(url, {"reason": "ok"}).status_code == 404
    missing = client_for(station_officer).post(url, {})
    assert missing.status_code == 400
    assert "reason" in missing.json()["fields"]


def test_not_at_home_twice_on_the_same_day_does_not_escalate(officer_client, task_a1):
    for _ in range(2):
        post_visit(officer_client, task_a1, visit_body(outcome="not_at_home"))
    task_a1.refresh_from_db()
    assert task_a1.status == TaskStatus.OPEN
    assert task_a1.escalated_at is None


def test_not_at_home_on_two_days_escalates_to_the_station(officer_client, task_a1, station_officer):
    yesterday = timezone.now() - timedelta(days=1)
    post_visit(officer_client, task_a1, visit_body(outcome="not_at_home", at=yesterday))
    post_visit(officer_client, task_a1, visit_body(outcome="not_at_home"))

    task_a1.refresh_from_db()
    assert task_a1.status == TaskStatus.OPEN
    assert task_a1.escalated_at is not None
    assert task_a1.priority == 2
    notice = Notification.objects.get(officer=station_officer)
    assert notice.object_id == str(task_a1.pk)
    assert not Violation.objects.exists()


@pytest.mark.parametrize("outcome", ["moved", "no_such_address", "refused"])
def test_absconding_outcomes_raise_a_violation_and_a_station_follow_up(
    officer_client, task_a1, outcome, client_for, control_room, station_officer
):
    response = post_visit(officer_client, task_a1, visit_body(outcome=outcome))

    visit = Visit.objects.get(pk=response.json()["id"])
    violation = Violation.objects.get()
    assert violation.kind == "absconding_suspected"
    assert (violation.cause_type.model, violation.cause_id) == ("visit", str(visit.pk))
    assert (violation.district_id, violation.station_id) == (
        task_a1.district_id,
        task_a1.station_id,
    )
    follow_up = VerificationTask.objects.get(kind="follow_up")
    assert (follow_up.station_id, follow_up.beat_id, follow_up.cause_visit) == (
        task_a1.station_id,
        None,
        visit,
    )
    task_a1.refresh_from_db()
    assert (task_a1.status, task_a1.resolution) == (TaskStatus.CLOSED, outcome)
    # The control room and the station see it.
    assert client_for(control_room).get("/api/v1/violations/").json()["results"]
    station_tasks = client_for(station_officer).get("/api/v1/verification/tasks/?kind=follow_up")
    assert [t["id"] for t in station_tasks.json()["results"]] == [follow_up.pk]


def test_a_flagged_absconding_visit_raises_nothing_until_accepted(
    officer_client, task_a1, station_officer
):
    response = post_visit(officer_client, task_a1, visit_body(outcome="moved", mock_location=True))
    assert not Violation.objects.exists()
    visit_services.visit_accept(actor=station_officer, visit_id=response.json()["id"], reason="ok")
    assert Violation.objects.count() == 1
    assert VerificationTask.objects.filter(kind="follow_up").count() == 1


def test_first_confirmed_visit_records_the_point_of_an_unlocated_address(
    world, officer_client, station_officer, policies
):
    offender = located_offender(None, None, station=world.lahore_a)
    task = open_task(offender)
    assert task.needs_point
    task_services.task_reassign(actor=station_officer, task_id=task.pk, beat_code="lahore-a-1")

    response = post_visit(officer_client, task, visit_body(IN_LAHORE_A_1))

    assert response.json()["counted"] is True
    address = Address.objects.get(offender=offender)
    assert (address.lat, address.lon) == IN_LAHORE_A_1
    assert address.beat == world.lahore_a_1
    offender.refresh_from_db()
    assert (offender.station, offender.beat) == (world.lahore_a, world.lahore_a_1)


# --- idempotency, 409, 404 ----------------------------------------------------------------------


def test_the_same_client_id_again_returns_the_first_answer_and_stores_nothing(
    officer_client, task_a1
):
    body = visit_body()
    first = post_visit(officer_client, task_a1, body)
    second = post_visit(officer_client, task_a1, body)

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Visit.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="visit", action="create").count() == 1


def test_a_client_id_reused_for_another_task_is_a_conflict(
    world, officer_client, task_a1, policies
):
    other = open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1))
    body = visit_body(outcome="not_at_home")
    post_visit(officer_client, task_a1, body)
    response = post_visit(officer_client, other, body)
    assert response.status_code == 409
    assert response.json()["code"] == "client_id_reused"


def test_a_visit_queued_for_a_reassigned_task_gets_409_with_the_tasks_state(
    officer_client, task_a1, station_officer
):
    task_services.task_reassign(actor=station_officer, task_id=task_a1.pk, beat_code="lahore-a-2")

    response = post_visit(officer_client, task_a1, visit_body())

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "task_not_open"
    assert body["task"]["status"] == "open"
    assert body["task"]["beat"] == "lahore-a-2"
    assert set(body) >= {"code", "message", "fields", "request_id"}
    assert not Visit.objects.exists()


def test_a_visit_for_a_closed_task_gets_409(officer_client, task_a1):
    post_visit(officer_client, task_a1, visit_body())
    response = post_visit(officer_client, task_a1, visit_body())
    assert response.status_code == 409
    assert response.json()["task"]["status"] == "closed"


def test_beat_officer_sees_nothing_outside_its_assignments(world, officer_client, policies):
    elsewhere = open_task(located_offender(world.lahore_a_2, IN_LAHORE_A_2))
    assert officer_client.get(f"/api/v1/mobile/tasks/{elsewhere.pk}/").status_code == 404
    assert post_visit(officer_client, elsewhere, visit_body()).status_code == 404
    assert officer_client.get(f"/api/v1/mobile/tasks/{elsewhere.pk}/photo/").status_code == 404
    assert (
        officer_client.get(
            f"/api/v1/offenders/{elsewhere.offender_id}/?purpose=verification"
        ).status_code
        == 404
    )
    assert officer_client.get("/api/v1/mobile/tasks/").json()["tasks"] == []
    assert not Visit.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat", 91),
        ("lon", "east"),
        ("accuracy_m", -1),
        ("outcome", "maybe"),
        ("client_id", "not-a-uuid"),
        ("fix_time", "yesterday"),
        ("visited_at", "0001-01-01T00:00:00Z"),
    ],
)
def test_bad_visit_input_is_a_400_on_the_field(officer_client, task_a1, field, value):
    response = post_visit(officer_client, task_a1, visit_body(**{field: value}))
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_visit_in_the_future_is_refused(officer_client, task_a1):
    later = timezone.now() + timedelta(hours=2)
    response = post_visit(officer_client, task_a1, visit_body(at=later))
    assert response.status_code == 400
    assert "visited_at" in response.json()["fields"]


# --- photos ---------------------------------------------------------------------------------------


def test_photos_are_stored_without_exif(officer_client, task_a1, client_for, station_officer):
    original = jpeg_with_gps_exif()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test is real

    response = officer_client.post(
        visits_url(task_a1),
        {**visit_body(mock_location=True), "photos": [upload("door.jpg", original)]},
        format="multipart",
    )

    assert response.status_code == 200, response.json()
    photo = VisitPhoto.objects.get()
    assert response.json()["photos"] == [photo.pk]
    with default_storage.open(photo.file.name) as handle:
        stored = Image.open(io.BytesIO(handle.read()))
    assert not stored.getexif()
    assert "exif" not in stored.info
    assert "door" not in photo.file.name
    # The reviewer downloads it through the API.
    queue = client_for(station_officer).get("/api/v1/verification/reviews/").json()["results"]
    download = client_for(station_officer).get(queue[0]["photos"][0])
    assert download.status_code == 200
    assert download["Content-Type"] == "image/jpeg"


def test_a_photo_that_is_not_a_jpeg_or_png_is_refused(officer_client, task_a1):
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    for content in (gif.getvalue(), b"not an image at all"):
        response = officer_client.post(
            visits_url(task_a1),
            {**visit_body(), "photos": [upload("fake.jpg", content)]},
            format="multipart",
        )
        assert response.status_code == 400
        assert "photos" in response.json()["fields"]
    assert not Visit.objects.exists()
    assert not VisitPhoto.objects.exists()


def test_a_photo_over_the_size_limit_is_refused(officer_client, task_a1, settings):
    content = jpeg_with_gps_exif()
    settings.NIGRANI_PHOTO_MAX_BYTES = len(content) - 1
    response = officer_client.post(
        visits_url(task_a1),
        {**visit_body(), "photos": [upload("big.jpg", content)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert "photos" in response.json()["fields"]
    settings.NIGRANI_PHOTO_MAX_BYTES = len(content)
    response = officer_client.post(
        visits_url(task_a1),
        {**visit_body(), "photos": [upload("ok.jpg", content)]},
        format="multipart",
    )
    assert response.status_code == 200


def test_too_many_photos_are_refused(officer_client, task_a1, settings):
    settings.NIGRANI_VISIT_MAX_PHOTOS = 1
    content = jpeg_with_gps_exif()
    response = officer_client.post(
        visits_url(task_a1),
        {**visit_body(), "photos": [upload("a.jpg", content), upload("b.jpg", content)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert not Visit.objects.exists()


# --- batch ----------------------------------------------------------------------------------------


def test_batch_answers_each_visit_on_its_own(world, officer_client, task_a1, policies):
    second = open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1))
    elsewhere = open_task(located_offender(world.lahore_a_2, IN_LAHORE_A_2))
    good = {**visit_body(), "task_id": task_a1.pk}
    visits = [
        good,
        {**visit_body(outcome="maybe"), "task_id": second.pk},
        {**visit_body(), "task_id": elsewhere.pk},
        {**visit_body(outcome="not_at_home"), "task_id": second.pk},
        good,
        42,  # not even an object: that item's 400, not the batch's
    ]

    response = officer_client.post(
        "/api/v1/mobile/visits/batch/", {"visits": visits}, format="json"
    )

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 400, 404, 200, 200, 400]
    assert results[1]["body"]["fields"].keys() == {"outcome"}
    assert results[0]["body"] == results[4]["body"]  # the replay inside one batch
    assert Visit.objects.count() == 2


def test_batch_with_photos_as_multipart(officer_client, task_a1):
    import json

    visits = [{**visit_body(mock_location=True), "task_id": task_a1.pk}]
    response = officer_client.post(
        "/api/v1/mobile/visits/batch/",
        {"visits": json.dumps(visits), "photos.0": upload("a.jpg", jpeg_with_gps_exif())},
        format="multipart",
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == 200
    assert VisitPhoto.objects.count() == 1


def test_batch_refuses_an_empty_or_malformed_list(officer_client):
    url = "/api/v1/mobile/visits/batch/"
    assert officer_client.post(url, {"visits": []}, format="json").status_code == 400
    assert officer_client.post(url, {"visits": "nope"}, format="json").status_code == 400
    assert officer_client.post(url, {}, format="json").status_code == 400


def test_unknown_client_id_shape_in_batch_does_not_500(officer_client, task_a1):
    response = officer_client.post(
        "/api/v1/mobile/visits/batch/",
        {"visits": [{"client_id": {"x": 1}, "task_id": task_a1.pk}]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == 400


def test_a_multipart_visit_without_the_mock_flag_is_refused(officer_client, task_a1):
    body = visit_body()
    del body["mock_location"]
    response = officer_client.post(visits_url(task_a1), body, format="multipart")
    assert response.status_code == 400
    assert "mock_location" in response.json()["fields"]


def test_visits_appear_on_the_offenders_timeline(
    officer_client, task_a1, client_for, station_officer
):
    post_visit(officer_client, task_a1, visit_body(outcome="not_at_home"))
    response = client_for(station_officer).get(
        f"/api/v1/offenders/{task_a1.offender_id}/timeline/?purpose=verification"
    )
    assert response.status_code == 200, response.json()
    entries = [e for e in response.json()["results"] if e["kind"] == "verification_visit"]
    assert len(entries) == 1
    assert "not_at_home" in entries[0]["summary"]


def test_a_fix_for_an_unlocated_address_in_another_district_is_flagged(
    world, officer_client, station_officer, policies
):
    from tests.mobile_api.conftest import IN_KASUR_A_1

    offender = located_offender(None, None, station=world.lahore_a)
    task = open_task(offender)
    task_services.task_reassign(actor=station_officer, task_id=task.pk, beat_code="lahore-a-1")

    body = post_visit(officer_client, task, visit_body(IN_KASUR_A_1)).json()

    assert (body["counted"], body["flag_reasons"]) == (False, ["outside_district"])
    visit_services.visit_accept(
        actor=station_officer, visit_id=body["id"], reason="checked by phone"
    )
    task.refresh_from_db()
    assert task.status == TaskStatus.CLOSED
    assert Address.objects.get(offender=offender).lat is None  # not recorded as the point
