"""Officers and devices in the Django admin: system administrators only, no secrets shown."""

import pytest

from accounts import services
from accounts.models import DeviceToken, Officer
from audit.models import AuditAction, AuditEvent


@pytest.fixture
def admin_client_for(client):
    def _make(officer):
        officer.is_staff = True
        officer.save()
        client.force_login(officer)
        return client

    return _make


def test_the_officer_page_never_shows_the_password_hash(
    admin_client_for, system_admin, beat_officer
):
    page = admin_client_for(system_admin).get(f"/admin/accounts/officer/{beat_officer.id}/change/")

    assert page.status_code == 200
    assert beat_officer.password.encode() not in page.content
    assert b'name="password"' not in page.content


def test_the_device_page_never_shows_the_token_hash(admin_client_for, system_admin, beat_officer):
    services.device_token_issue(officer=beat_officer, device_id="phone-1", device_name="")
    token = DeviceToken.objects.get()

    page = admin_client_for(system_admin).get(f"/admin/accounts/devicetoken/{token.id}/change/")

    assert page.status_code == 200
    assert token.token_hash.encode() not in page.content


def test_system_admin_unlocks_from_the_admin(admin_client_for, system_admin, beat_officer):
    Officer.objects.filter(pk=beat_officer.pk).update(locked_until="2099-01-01T00:00:00Z")

    admin_client_for(system_admin).post(
        "/admin/accounts/officer/",
        {"action": "unlock", "_selected_action": [beat_officer.id]},
    )

    beat_officer.refresh_from_db()
    assert beat_officer.locked_until is None
    assert AuditEvent.objects.filter(action=AuditAction.UNLOCK, actor_id=system_admin.id).exists()


def test_other_staff_do_not_see_officers(admin_client_for, registry_admin):
    response = admin_client_for(registry_admin).get("/admin/accounts/officer/")

    assert response.status_code == 403


# --- officer edits: no self-promotion, every role change validated and audited --------------


def _officer_form(officer, **overrides):
    """The change form's POST body as the admin would send it for ``officer``."""
    data = {
        "username": officer.username,
        "full_name": officer.full_name,
        "rank": officer.rank,
        "badge_number": officer.badge_number,
        "agency": officer.agency_id or "",
        "role": officer.role,
        "province": officer.province_id or "",
        "district": officer.district_id or "",
        "station": officer.station_id or "",
        "beat": officer.beat_id or "",
    }
    if officer.is_active:
        data["is_active"] = "on"
    if officer.is_staff:
        data["is_staff"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_a_system_admin_cannot_promote_itself(admin_client_for, system_admin):
    client = admin_client_for(system_admin)

    client.post(
        f"/admin/accounts/officer/{system_admin.id}/change/",
        _officer_form(system_admin, role="registry_admin", is_superuser="on"),
    )

    system_admin.refresh_from_db()
    assert (system_admin.role, system_admin.is_superuser) == ("system_admin", False)
    assert system_admin.is_staff
    assert system_admin.is_active


def test_the_officer_form_never_offers_superuser(admin_client_for, system_admin, beat_officer):
    client = admin_client_for(system_admin)

    client.post(
        f"/admin/accounts/officer/{beat_officer.id}/change/",
        _officer_form(beat_officer, is_superuser="on"),
    )
    page = client.get(f"/admin/accounts/officer/{beat_officer.id}/change/")

    beat_officer.refresh_from_db()
    assert beat_officer.is_superuser is False
    assert b'name="is_superuser"' not in page.content


def test_the_own_row_shows_role_and_staff_read_only(admin_client_for, system_admin):
    page = admin_client_for(system_admin).get(f"/admin/accounts/officer/{system_admin.id}/change/")

    assert page.status_code == 200
    for field in (b"role", b"is_staff", b"is_active", b"district", b"station", b"beat"):
        assert b'name="' + field + b'"' not in page.content


def test_a_role_change_is_validated_and_audited(
    admin_client_for, system_admin, beat_officer, world
):
    client = admin_client_for(system_admin)

    response = client.post(
        f"/admin/accounts/officer/{beat_officer.id}/change/",
        _officer_form(beat_officer, role="station_officer", station=world.lahore_a.id, beat=""),
    )

    assert response.status_code == 302
    beat_officer.refresh_from_db()
    assert (beat_officer.role, beat_officer.station_id) == ("station_officer", world.lahore_a.id)
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="officer")
    assert (event.actor_id, event.object_id) == (system_admin.id, str(beat_officer.id))
    assert set(event.details["fields"]) == {"role", "beat"}


def test_a_role_without_its_jurisdiction_is_refused(admin_client_for, system_admin, beat_officer):
    response = admin_client_for(system_admin).post(
        f"/admin/accounts/officer/{beat_officer.id}/change/",
        _officer_form(beat_officer, role="control_room", district=""),
    )

    assert response.status_code == 200  # the form again, with the error
    beat_officer.refresh_from_db()
    assert beat_officer.role == "beat_officer"
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()


def test_a_role_outside_the_agency_is_refused(admin_client_for, system_admin, beat_officer):
    # A police officer cannot be made an NPB registry admin.
    response = admin_client_for(system_admin).post(
        f"/admin/accounts/officer/{beat_officer.id}/change/",
        _officer_form(beat_officer, role="registry_admin"),
    )

    assert response.status_code == 200
    beat_officer.refresh_from_db()
    assert beat_officer.role == "beat_officer"


def test_creating_an_officer_in_the_admin_is_audited(admin_client_for, system_admin, world):
    agency = system_admin.agency
    response = admin_client_for(system_admin).post(
        "/admin/accounts/officer/add/",
        {
            "username": "new-auditor",
            "full_name": "New Auditor",
            "agency": agency.id,
            "role": "auditor",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    officer = Officer.objects.get(username="new-auditor")
    assert not officer.has_usable_password()
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="officer")
    assert (event.actor_id, event.object_id) == (system_admin.id, str(officer.id))


# --- admin actions report a refusal instead of failing ----------------------------------------


@pytest.fixture
def superuser_without_permission(world):
    from accounts.roles import AgencyKind
    from tests.conftest import make_officer

    officer = make_officer("super-auditor", "auditor", AgencyKind.NPB)
    officer.is_superuser = True
    officer.save()
    return officer


def test_unlock_refused_by_the_service_is_reported(
    admin_client_for, superuser_without_permission, beat_officer
):
    Officer.objects.filter(pk=beat_officer.pk).update(locked_until="2099-01-01T00:00:00Z")

    response = admin_client_for(superuser_without_permission).post(
        "/admin/accounts/officer/",
        {"action": "unlock", "_selected_action": [beat_officer.id]},
        follow=True,
    )

    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    beat_officer.refresh_from_db()
    assert beat_officer.locked_until is not None


def test_revoke_refused_by_the_service_is_reported(
    admin_client_for, superuser_without_permission, beat_officer
):
    services.device_token_issue(officer=beat_officer, device_id="phone-1", device_name="")
    token = DeviceToken.objects.get()

    response = admin_client_for(superuser_without_permission).post(
        "/admin/accounts/devicetoken/",
        {"action": "revoke_devices", "_selected_action": [token.id]},
        follow=True,
    )

    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    token.refresh_from_db()
    assert token.revoked_at is None
