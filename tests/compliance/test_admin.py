"""Violations in the admin: read-only, and every page shown is audited as a read."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from compliance.models import Violation
from tests.compliance.conftest import raise_for

CHANGELIST = "/admin/compliance/violation/"


@pytest.fixture
def superuser_client(system_admin) -> Client:
    system_admin.is_staff = system_admin.is_superuser = True
    system_admin.save()
    client = Client()
    client.force_login(system_admin)
    return client


@pytest.fixture
def violation(lahore_a_offender) -> Violation:
    violation, _ = raise_for(lahore_a_offender)
    return violation


def _last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()


def test_list_and_change_page_are_audited_as_reads(superuser_client, system_admin, violation):
    assert superuser_client.get(CHANGELIST, {"status__exact": "open"}).status_code == 200
    listed = _last_event()
    assert (listed.action, listed.object_type, listed.object_id, listed.actor_id) == (
        "read",
        "violation",
        "",
        system_admin.id,
    )
    assert listed.details == {
        "via": "admin",
        "filters": {"status__exact": "open"},
        "searched": False,
    }

    assert superuser_client.get(f"{CHANGELIST}{violation.pk}/change/").status_code == 200
    viewed = _last_event()
    assert (viewed.object_type, viewed.object_id, viewed.details) == (
        "violation",
        str(violation.pk),
        {"via": "admin"},
    )


def test_an_unknown_violation_redirects_and_records_no_read(superuser_client, violation):
    before = AuditEvent.objects.count()

    assert superuser_client.get(f"{CHANGELIST}424242/change/").status_code == 302
    assert AuditEvent.objects.count() == before


def test_violations_cannot_be_added_changed_or_deleted(superuser_client, violation):
    assert superuser_client.get(f"{CHANGELIST}add/").status_code == 403
    assert superuser_client.get(f"{CHANGELIST}{violation.pk}/delete/").status_code == 403
    assert (
        superuser_client.post(f"{CHANGELIST}{violation.pk}/change/", {"status": "dismissed"})
    ).status_code == 403
    violation.refresh_from_db()
    assert violation.status == "open"
