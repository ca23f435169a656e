"""The Django admin saves through the services: validated, contained, audited."""

import json

import pytest
from django.test import Client

from audit.models import AuditEvent
from jurisdictions.models import Beat
from tests.factories import square

ADD_BEAT = "/admin/jurisdictions/beat/add/"


@pytest.fixture
def admin_client_for_system_admin(system_admin) -> Client:
    system_admin.is_staff = system_admin.is_superuser = True
    system_admin.save()
    client = Client()
    client.force_login(system_admin)
    return client


def _beat_form(world, boundary) -> dict:
    return {
        "station": world.lahore_a.pk,
        "code": "admin-beat",
        "name": "Admin beat",
        "boundary": json.dumps(boundary),
    }


def test_admin_adds_a_beat_through_the_service(admin_client_for_system_admin, world):
    response = admin_client_for_system_admin.post(
        ADD_BEAT, _beat_form(world, square(74.0, 31.0, 0.1))
    )

    assert response.status_code == 302
    beat = Beat.objects.get(code="admin-beat")
    assert beat.max_lon == pytest.approx(74.1)
    assert AuditEvent.objects.filter(object_type="beat", object_id=str(beat.pk)).exists()


def test_admin_shows_a_beat_outside_its_station_as_a_form_error(
    admin_client_for_system_admin, world
):
    response = admin_client_for_system_admin.post(
        ADD_BEAT, _beat_form(world, square(74.6, 31.1, 0.1))
    )

    assert response.status_code == 200
    assert "The boundary must lie within its station." in response.content.decode()
    assert not Beat.objects.filter(code="admin-beat").exists()


def test_staff_without_manage_permission_cannot_add(control_room, world):
    control_room.is_staff = control_room.is_superuser = True
    control_room.save()
    client = Client()
    client.force_login(control_room)

    response = client.post(ADD_BEAT, _beat_form(world, square(74.0, 31.0, 0.1)))

    assert response.status_code == 403
    assert not Beat.objects.filter(code="admin-beat").exists()


@pytest.mark.parametrize("model", ["province", "district", "policestation", "beat"])
def test_admin_list_and_change_pages_render(admin_client_for_system_admin, world, model):
    obj = {
        "province": world.punjab,
        "district": world.lahore,
        "policestation": world.lahore_a,
        "beat": world.lahore_a_1,
    }[model]
    client = admin_client_for_system_admin

    assert client.get(f"/admin/jurisdictions/{model}/").status_code == 200
    assert client.get(f"/admin/jurisdictions/{model}/{obj.pk}/change/").status_code == 200
