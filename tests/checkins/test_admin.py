"""Station terminals in the admin: system administrators enrol and revoke them, audited."""

from django.test import Client

from audit.models import AuditEvent
from checkins.models import StationTerminal
from tests.checkins.conftest import enrol_device

ADD = "/admin/checkins/stationterminal/add/"
CHANGELIST = "/admin/checkins/stationterminal/"


def _staff_client(officer) -> Client:
    officer.is_staff = True
    officer.save()
    client = Client()
    client.force_login(officer)
    return client


def test_system_admin_enrols_a_stations_device_as_terminal(system_admin, station_officer, world):
    enrol_device(station_officer, "counter-pc")
    client = _staff_client(system_admin)

    response = client.post(
        ADD, {"station": world.lahore_a.pk, "device_id": "counter-pc", "name": "Front desk"}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    terminal = StationTerminal.objects.get()
    assert (terminal.station, terminal.enrolled_by) == (world.lahore_a, system_admin)
    event = AuditEvent.objects.filter(object_type="station_terminal", action="create").get()
    assert event.details["device_id"] == "counter-pc"


def test_a_device_of_another_station_is_refused(system_admin, station_officer, world):
    enrol_device(station_officer, "counter-pc")
    response = _staff_client(system_admin).post(
        ADD, {"station": world.lahore_b.pk, "device_id": "counter-pc", "name": ""}
    )
    assert response.status_code == 200  # the form again, with the error
    assert not StationTerminal.objects.exists()


def test_revoking_is_audited(system_admin, world):
    terminal = StationTerminal.objects.create(station=world.lahore_a, device_id="counter-pc")
    response = _staff_client(system_admin).post(
        CHANGELIST, {"action": "revoke", "_selected_action": [terminal.pk]}
    )
    assert response.status_code == 302
    terminal.refresh_from_db()
    assert terminal.revoked_at is not None
    assert terminal.revoked_by == system_admin
    assert AuditEvent.objects.filter(
        object_type="station_terminal", object_id=str(terminal.pk), action="update"
    ).exists()


def test_other_roles_cannot_manage_terminals(station_officer):
    client = _staff_client(station_officer)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(ADD).status_code == 403


def test_viewing_the_list_is_audited(system_admin, world):
    StationTerminal.objects.create(station=world.lahore_a, device_id="counter-pc")
    assert _staff_client(system_admin).get(CHANGELIST).status_code == 200
    assert AuditEvent.objects.filter(object_type="station_terminal", action="read").exists()
