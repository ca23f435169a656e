"""Station terminal services: who may enrol and revoke, and what they refuse."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from checkins.models import StationTerminal
from checkins.services.terminals import station_terminal_enrol, station_terminal_revoke
from common.exceptions import Forbidden
from tests.checkins.conftest import enrol_device


def test_enrol_then_revoke_once(system_admin, station_officer, world):
    enrol_device(station_officer, "counter-pc")
    terminal = station_terminal_enrol(
        actor=system_admin, station=world.lahore_a, device_id="counter-pc"
    )

    assert station_terminal_revoke(actor=system_admin, terminal_ids=[terminal.pk]) == [terminal.pk]
    assert station_terminal_revoke(actor=system_admin, terminal_ids=[terminal.pk]) == []
    events = AuditEvent.objects.filter(object_type="station_terminal").values_list("action")
    assert sorted(a for (a,) in events) == ["create", "update"]


def test_a_station_officer_may_do_neither(station_officer, world):
    enrol_device(station_officer, "counter-pc")
    with pytest.raises(Forbidden):
        station_terminal_enrol(
            actor=station_officer, station=world.lahore_a, device_id="counter-pc"
        )
    terminal = StationTerminal.objects.create(station=world.lahore_a, device_id="counter-pc")
    with pytest.raises(Forbidden):
        station_terminal_revoke(actor=station_officer, terminal_ids=[terminal.pk])


@pytest.mark.parametrize("again", [False, True])
def test_an_unknown_device_or_a_second_enrolment_is_refused(
    system_admin, station_officer, world, again
):
    if again:
        enrol_device(station_officer, "counter-pc")
        station_terminal_enrol(actor=system_admin, station=world.lahore_a, device_id="counter-pc")
    with pytest.raises(ValidationError) as caught:
        station_terminal_enrol(actor=system_admin, station=world.lahore_a, device_id="counter-pc")
    assert "device_id" in caught.value.message_dict
    assert StationTerminal.objects.count() == (1 if again else 0)
