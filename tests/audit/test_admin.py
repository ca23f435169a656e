"""The admin shows the trail read-only, to auditors and superusers, and audits the reading."""

import pytest

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record

CHANGELIST = "/admin/audit/auditevent/"


@pytest.fixture
def event(registry_admin) -> AuditEvent:
    return audit_record(actor=registry_admin, action=AuditAction.CREATE, object_type="offender")


def _staff_client(client, officer, *, superuser=False):
    officer.is_staff = True
    officer.is_superuser = superuser
    officer.save()
    client.force_login(officer)
    return client


def test_auditor_views_the_trail_and_the_view_is_audited(client, auditor, event):
    admin = _staff_client(client, auditor)

    assert admin.get(CHANGELIST, {"action__exact": "create", "q": "anything"}).status_code == 200
    listed = AuditEvent.objects.order_by("-id").first()
    assert (listed.action, listed.object_type, listed.actor_id) == (
        "read",
        "audit_event",
        auditor.id,
    )
    assert listed.details == {
        "via": "admin",
        "filters": {"action__exact": "create"},
        "searched": True,
    }

    assert admin.get(f"{CHANGELIST}{event.id}/change/").status_code == 200
    viewed = AuditEvent.objects.order_by("-id").first()
    assert viewed.object_id == str(event.id)


@pytest.mark.parametrize("superuser", [False, True])
def test_nobody_can_add_change_or_delete_through_the_admin(client, auditor, event, superuser):
    admin = _staff_client(client, auditor, superuser=superuser)

    assert admin.get(f"{CHANGELIST}add/").status_code == 403
    assert admin.get(f"{CHANGELIST}{event.id}/delete/").status_code == 403
    admin.post(f"{CHANGELIST}{event.id}/change/", {"outcome": "denied"})
    admin.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [event.id]})
    event.refresh_from_db()
    assert event.outcome == "ok"


def test_superuser_without_the_auditor_role_can_view(client, system_admin, event):
    admin = _staff_client(client, system_admin, superuser=True)
    assert admin.get(CHANGELIST).status_code == 200


def test_staff_without_audit_read_cannot_see_the_trail(client, system_admin, event):
    admin = _staff_client(client, system_admin)
    assert admin.get(CHANGELIST).status_code == 403
    assert admin.get(f"{CHANGELIST}{event.id}/change/").status_code == 403


def test_an_empty_search_box_is_not_recorded_as_a_search(client, auditor, event):
    admin = _staff_client(client, auditor)

    assert admin.get(CHANGELIST, {"q": ""}).status_code == 200
    assert AuditEvent.objects.order_by("-id").first().details == {
        "via": "admin",
        "filters": {},
        "searched": False,
    }


def test_an_unknown_event_redirects_and_records_no_read(client, auditor, event):
    admin = _staff_client(client, auditor)
    before = AuditEvent.objects.count()

    assert admin.get(f"{CHANGELIST}424242/change/").status_code == 302
    assert AuditEvent.objects.count() == before
