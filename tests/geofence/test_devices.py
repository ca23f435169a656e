"""Tracking devices and gateways: enrolment, the credential's separation, revocation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.roles import AgencyKind
from accounts.services import device_token_issue
from audit.models import AuditEvent
from geofence.models import CredentialStatus, TrackingDevice
from geofence.services import credentials
from geofence.services.credentials import credential_hash, known_device_get
from geofence.services.devices import gateway_enrol, tracking_device_enrol
from tests.conftest import make_officer

pytestmark = pytest.mark.django_db

PING = [
    {
        "device_seq": 1,
        "recorded_at": "2026-01-01T00:00:00Z",
        "lat": 31.5,
        "lon": 74.3,
        "accuracy_m": 10,
    }
]


def _device_client(credential: str, scheme: str = "Device") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {credential}")
    return client


def test_station_officer_enrols_and_sees_the_credential_once(client_for, station_officer, offender):
    response = client_for(station_officer).post(
        "/api/v1/tracking-devices/",
        {"offender": offender.pk, "kind": "ankle_tag", "serial": "TAG-9"},
        format="json",
    )
    assert response.status_code == 201
    credential = response.json()["credential"]
    device = TrackingDevice.objects.get(pk=response.json()["id"])
    assert device.credential_hash == credential_hash(credential)
    assert credential not in device.credential_hash
    listed = client_for(station_officer).get("/api/v1/tracking-devices/").json()["results"]
    assert [d["id"] for d in listed] == [device.pk]
    assert "credential" not in listed[0]
    assert AuditEvent.objects.filter(object_type="tracking_device", action="create").exists()


def test_another_station_cannot_enrol_or_see(client_for, station_officer_elsewhere, offender):
    response = client_for(station_officer_elsewhere).post(
        "/api/v1/tracking-devices/",
        {"offender": offender.pk, "kind": "phone", "serial": "P"},
        format="json",
    )
    assert response.status_code == 404


def test_prison_officer_enrols_at_release_but_control_room_may_not(
    client_for, prison_officer, control_room, offender
):
    body = {"offender": offender.pk, "kind": "phone", "serial": "P"}
    assert client_for(control_room).post("/api/v1/tracking-devices/", body).status_code == 403
    assert client_for(prison_officer).post("/api/v1/tracking-devices/", body).status_code == 201


def test_second_active_device_of_a_kind_is_a_conflict(station_officer, offender, enrolled):
    from common.exceptions import Conflict

    with pytest.raises(Conflict):
        tracking_device_enrol(
            actor=station_officer, offender_id=offender.pk, kind="phone", serial="PHONE-2"
        )


def test_officer_token_never_opens_the_ping_endpoint(station_officer, enrolled):
    issued = device_token_issue(officer=station_officer, device_id="phone-x", device_name="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}", HTTP_X_DEVICE_ID="phone-x")
    assert client.get("/api/v1/tracking-devices/").status_code == 200
    assert client.post("/api/v1/pings/", PING, format="json").status_code == 401
    # Nor does an officer token presented under the device scheme.
    device_client = _device_client(issued.token)
    assert device_client.post("/api/v1/pings/", PING, format="json").status_code == 401


def test_revoking_stops_acceptance_at_once(client_for, station_officer, enrolled, freeze_now):
    device, credential = enrolled
    response = client_for(station_officer).post(
        f"/api/v1/tracking-devices/{device.pk}/revoke/", {"reason": "lost"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == CredentialStatus.REVOKED
    assert _device_client(credential).post("/api/v1/pings/", PING, format="json").status_code == (
        401
    )
    assert AuditEvent.objects.filter(object_type="tracking_device", action="token_revoked").exists()


def test_only_registry_admin_enrols_gateways(client_for, registry_admin, control_room):
    assert client_for(control_room).post("/api/v1/gateways/", {"name": "V"}).status_code == 403
    response = client_for(registry_admin).post("/api/v1/gateways/", {"name": "V"})
    assert response.status_code == 201
    assert response.json()["credential"].startswith("ngg_")


def test_device_credential_opens_only_the_ping_endpoint(enrolled, freeze_now):
    _, credential = enrolled
    client = _device_client(credential)
    assert client.post("/api/v1/pings/", PING, format="json").status_code == 202
    assert client.get("/api/v1/violations/").status_code == 401
    assert client.get("/api/v1/tracking-devices/").status_code == 401


def test_replacing_a_lost_tag_revokes_it_and_issues_a_new_credential(
    client_for, station_officer, enrolled, freeze_now
):
    device, old_credential = enrolled
    response = client_for(station_officer).post(
        f"/api/v1/tracking-devices/{device.pk}/replace/", {"serial": "PHONE-NEW"}, format="json"
    )
    assert response.status_code == 201
    device.refresh_from_db()
    assert device.status == CredentialStatus.REVOKED
    assert device.replaced_by_id == response.json()["id"]
    new_client = _device_client(response.json()["credential"])
    assert new_client.post("/api/v1/pings/", PING, format="json").status_code == 202
    assert (
        _device_client(old_credential).post("/api/v1/pings/", PING, format="json").status_code
        == 401
    )


def test_gateway_posts_only_for_its_own_devices(
    world, registry_admin, station_officer, offender, kasur_offender, freeze_now
):
    gateway = gateway_enrol(actor=registry_admin, name="VendorTrack")
    other = gateway_enrol(actor=registry_admin, name="OtherVendor")
    tracking_device_enrol(
        actor=station_officer,
        offender_id=offender.pk,
        kind="ankle_tag",
        serial="T-1",
        gateway_id=gateway.obj.pk,
    )
    kasur_officer = make_officer(
        "so-kasur",
        "station_officer",
        AgencyKind.POLICE,
        district=world.kasur,
        station=world.kasur_a,
    )
    tracking_device_enrol(
        actor=kasur_officer,
        offender_id=kasur_offender.pk,
        kind="ankle_tag",
        serial="T-2",
        gateway_id=other.obj.pk,
    )
    batch = [{**PING[0], "device": "T-1"}, {**PING[0], "device": "T-2", "device_seq": 2}]
    response = _device_client(gateway.credential, "Gateway").post(
        "/api/v1/pings/", batch, format="json"
    )
    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    assert response.json()["errors"] == [{"index": 1, "reason": "unknown_device"}]


def _ping(seq: int) -> list[dict]:
    return [{**PING[0], "device_seq": seq}]


def test_a_device_credential_is_looked_up_once_then_remembered(enrolled, freeze_now, settings):
    _, credential = enrolled
    client = _device_client(credential)
    lookup = "FROM geofence_trackingdevice WHERE credential_hash"
    with CaptureQueriesContext(connection) as first:
        assert client.post("/api/v1/pings/", _ping(1), format="json").status_code == 202
    with CaptureQueriesContext(connection) as remembered:
        assert client.post("/api/v1/pings/", _ping(2), format="json").status_code == 202
    settings.NIGRANI_DEVICE_CREDENTIAL_CACHE_SECONDS = 0
    credentials._known_devices.clear()
    with CaptureQueriesContext(connection) as uncached:
        assert client.post("/api/v1/pings/", _ping(3), format="json").status_code == 202
    assert sum(lookup in q["sql"] for q in first.captured_queries) == 1
    assert sum(lookup in q["sql"] for q in remembered.captured_queries) == 0
    assert sum(lookup in q["sql"] for q in uncached.captured_queries) == 1
    assert len(remembered.captured_queries) == len(uncached.captured_queries) - 1


def test_a_remembered_credential_revoked_by_another_process_is_refused_at_once(
    enrolled, freeze_now
):
    device, credential = enrolled
    client = _device_client(credential)
    assert client.post("/api/v1/pings/", _ping(1), format="json").status_code == 202
    # Another web process's revocation: committed there, so this process was not told.
    TrackingDevice.objects.filter(pk=device.pk).update(status=CredentialStatus.REVOKED)

    response = client.post("/api/v1/pings/", _ping(2), format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "bad_credential"
    assert client.post("/api/v1/pings/", _ping(3), format="json").status_code == 401
    with connection.cursor() as cursor:
        cursor.execute("SELECT device_seq FROM geofence_ping WHERE device_id = %s", [device.pk])
        assert [row[0] for row in cursor.fetchall()] == [1]


def test_a_revocation_in_this_process_forgets_the_remembered_credential(
    client_for, station_officer, enrolled, freeze_now, django_capture_on_commit_callbacks
):
    device, credential = enrolled
    client = _device_client(credential)
    assert client.post("/api/v1/pings/", _ping(1), format="json").status_code == 202
    assert known_device_get(device.credential_hash) is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(station_officer).post(
            f"/api/v1/tracking-devices/{device.pk}/revoke/", {"reason": "lost"}, format="json"
        )
    assert response.status_code == 200
    assert known_device_get(device.credential_hash) is None
