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
