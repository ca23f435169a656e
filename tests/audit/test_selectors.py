"""Reading the trail: only audit.read sees it; one object's timeline for the registry."""

import pytest

from audit.models import AuditAction
from audit.selectors import audit_event_get, audit_event_list, audit_events_for_object
from audit.services import audit_record
from common.exceptions import NotFound

pytestmark = pytest.mark.django_db


def test_only_actors_with_audit_read_see_any_event(auditor, registry_admin):
    event = audit_record(actor=registry_admin, action=AuditAction.CREATE, object_type="offender")

    assert list(audit_event_list(actor=auditor, filters={})) == [event]
    assert not audit_event_list(actor=registry_admin, filters={}).exists()
    assert audit_event_get(actor=auditor, event_id=event.id) == event
    with pytest.raises(NotFound):
        audit_event_get(actor=registry_admin, event_id=event.id)


def test_events_for_one_object_newest_first(registry_admin, station_officer):
    created = audit_record(
        actor=registry_admin, action=AuditAction.CREATE, object_type="offender", object_id=5
    )
    audit_record(
        actor=registry_admin, action=AuditAction.CREATE, object_type="offender", object_id=6
    )
    audit_record(actor=registry_admin, action=AuditAction.CREATE, object_type="notice", object_id=5)
    read = audit_record(
        actor=station_officer, action=AuditAction.READ, object_type="offender", object_id="5"
    )

    assert list(audit_events_for_object(object_type="offender", object_id=5)) == [read, created]
