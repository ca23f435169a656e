"""``create_officer``: an officer with a password, ready to enrol an authenticator."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Officer
from audit.models import AuditAction, AuditEvent
from tests.factories import AgencyFactory

NEW_PASSWORD = "a-long-enough-passphrase-42"


def test_create_officer_places_the_officer_in_their_beat(world, monkeypatch):
    AgencyFactory(name="Punjab Police")
    monkeypatch.setenv("NIGRANI_NEW_PASSWORD", NEW_PASSWORD)

    call_command(
        "create_officer",
        "new-beat-officer",
        full_name="New Officer",
        role="beat_officer",
        agency="Punjab Police",
        beat="lahore-a-2",
    )

    officer = Officer.objects.get(username="new-beat-officer")
    assert (officer.beat, officer.station, officer.district) == (
        world.lahore_a_2,
        world.lahore_a,
        world.lahore,
    )
    assert officer.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action=AuditAction.CREATE)
    assert NEW_PASSWORD not in str(event.details)


def test_create_officer_refuses_a_weak_password(world, monkeypatch):
    AgencyFactory(name="Punjab Police")
    monkeypatch.setenv("NIGRANI_NEW_PASSWORD", "short")

    with pytest.raises(CommandError):
        call_command(
            "create_officer",
            "weak",
            full_name="Weak",
            role="control_room",
            agency="Punjab Police",
            district="lahore",
        )
    assert not Officer.objects.filter(username="weak").exists()


@pytest.mark.parametrize(
    ("option", "code", "role"),
    [
        ("district", "atlantis", "control_room"),
        ("station", "atlantis-a", "station_officer"),
        ("beat", "atlantis-a-1", "beat_officer"),
    ],
)
def test_create_officer_names_an_unknown_jurisdiction(world, monkeypatch, option, code, role):
    AgencyFactory(name="Punjab Police")
    monkeypatch.setenv("NIGRANI_NEW_PASSWORD", NEW_PASSWORD)

    with pytest.raises(CommandError, match=f"No such {option}: {code}"):
        call_command(
            "create_officer",
            "lost",
            full_name="Lost",
            role=role,
            agency="Punjab Police",
            **{option: code},
        )
    assert not Officer.objects.filter(username="lost").exists()
