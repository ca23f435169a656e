"""The services the register's admin saves through: who may, and what they write."""

import pytest

from audit.models import AuditEvent
from common.exceptions import Forbidden
from registry.models import NoticeDeadline, Offender
from registry.services.notices import notice_deadline_save
from registry.services.offenders import offender_descriptive_update
from tests.factories import OffenderFactory


@pytest.fixture
def offender(world) -> Offender:
    return OffenderFactory(district=world.lahore, station=world.lahore_a)


def test_descriptive_update_writes_only_the_named_fields(registry_admin, offender):
    offender.physical_description = "scar on the left hand"
    offender.full_name = "not saved"  # not named: not written

    offender_descriptive_update(
        actor=registry_admin, offender=offender, fields=["physical_description"]
    )

    saved = Offender.objects.get(pk=offender.pk)
    assert saved.physical_description == "scar on the left hand"
    assert saved.full_name != "not saved"
    event = AuditEvent.objects.get(object_type="offender", action="update")
    assert event.details == {"via": "admin", "fields": ["physical_description"]}


def test_descriptive_update_refuses_other_fields_and_other_roles(
    registry_admin, station_officer, offender
):
    with pytest.raises(ValueError, match="not descriptive: full_name"):
        offender_descriptive_update(actor=registry_admin, offender=offender, fields=["full_name"])
    with pytest.raises(Forbidden):
        offender_descriptive_update(actor=station_officer, offender=offender, fields=["aliases"])


def test_notice_deadline_save_is_audited_and_refused_to_others(registry_admin, station_officer):
    deadline = NoticeDeadline.objects.first()
    with pytest.raises(Forbidden):
        notice_deadline_save(actor=station_officer, deadline=deadline, fields=[], created=False)
    notice_deadline_save(actor=registry_admin, deadline=deadline, fields=[], created=False)
    assert AuditEvent.objects.filter(object_type="notice_deadline").count() == 1
