"""Release and the lifecycle state machine: allowed and forbidden transitions, who may make
them, what each one records, and the due dates the reporting policy derives."""

from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from common.exceptions import Conflict, Forbidden, NotFound
from registry.models import Offender, OffenderStatus, ReportingPolicy, StatusChange
from registry.services.dues import offender_dues_compute
from registry.services.lifecycle import TRANSITIONS, offender_release, offender_transition
from registry.services.offenders import offender_update
from tests.registry.offender_data import KASUR_A_1, LAHORE_A_2, register, reload

S = OffenderStatus
HOME = {"text": "House 7, Model Town", "district": "lahore", **LAHORE_A_2}


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel("2026-03-10 05:00:00+00:00", tick=False):
        yield


def release(actor, offender, **overrides):
    params = {
        "released_on": date(2026, 3, 8),
        "prison": "Camp Jail Lahore",
        "address": HOME,
    }
    params.update(overrides)
    return offender_release(actor=actor, offender_id=offender.pk, **params)


def put_in(offender: Offender, status: str) -> Offender:
    """Set a status directly: the starting point of a transition test."""
    fields = {"status": status, "removal_reason": "data_error" if status == S.REMOVED else ""}
    if status in (S.ACTIVE, S.ABSCONDED):
        fields["released_on"] = date(2026, 1, 1)
    Offender.objects.filter(pk=offender.pk).update(**fields)
    return reload(offender)


# --- due dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "ends", "checkin", "verification"),
    [
        (1, date(2036, 3, 8), date(2026, 6, 6), date(2027, 3, 8)),
        (2, date(2046, 3, 8), date(2026, 4, 7), date(2026, 9, 4)),
        (3, None, date(2026, 3, 15), date(2026, 6, 6)),
    ],
)
def test_dues_follow_the_seeded_policy_of_each_tier(db, tier, ends, checkin, verification):
    dues = offender_dues_compute(
        policy=ReportingPolicy.objects.get(risk_tier=tier),
        released_on=date(2026, 3, 8),
        since=date(2026, 3, 8),
    )

    assert (dues.registration_ends_on, dues.next_checkin_due, dues.next_verification_due) == (
        ends,
        checkin,
        verification,
    )


def test_registration_from_29_february_ends_on_28_february(db):
    dues = offender_dues_compute(
        policy=ReportingPolicy.objects.get(risk_tier=1),
        released_on=date(2024, 2, 29),
        since=date(2024, 2, 29),
    )

    assert dues.registration_ends_on == date(2034, 2, 28)


# --- release -------------------------------------------------------------------------------


def test_release_activates_sets_dues_records_and_calls_the_hook(
    world,
    data_entry,
    prison_officer,
    recorded_hooks,
):
    offender = register(data_entry)

    released = release(prison_officer, offender)

    offender = reload(offender)
    assert released.status == offender.status == S.ACTIVE
    assert offender.released_on == date(2026, 3, 8)
    assert offender.release_prison == "Camp Jail Lahore"
    assert offender.registration_ends_on == date(2046, 3, 8)
    assert offender.next_checkin_due == date(2026, 4, 7)
    assert offender.next_verification_due == date(2026, 9, 4)
    assert (offender.station, offender.beat) == (world.lahore_a, world.lahore_a_2)
    change = StatusChange.objects.get(offender=offender, to_status=S.ACTIVE)
    assert (change.from_status, change.actor, change.reason) == (
        S.IN_CUSTODY,
        prison_officer,
        "released",
    )
    event = AuditEvent.objects.get(action="transition", object_type="offender")
    assert event.details["from"] == S.IN_CUSTODY
    assert event.details["to"] == S.ACTIVE
    assert event.details["district_id"] == world.lahore.pk
    assert [name for name, _ in recorded_hooks] == ["address_changed", "offender_released"]
    assert recorded_hooks[-1][1]["offender"].pk == offender.pk


def test_release_to_another_district_transfers_supervision(
    world,
    data_entry,
    prison_officer,
    recorded_hooks,
):
    offender = register(data_entry)

    release(prison_officer, offender, address={"text": "Kasur", "district": "kasur", **KASUR_A_1})

    assert reload(offender).district == world.kasur
    assert "offender_transferred" in [name for name, _ in recorded_hooks]


def test_prison_officer_elsewhere_cannot_find_the_offender(
    world, data_entry, prison_officer_elsewhere
):
    offender = register(data_entry)

    with pytest.raises(NotFound):
        release(prison_officer_elsewhere, offender)


@pytest.mark.parametrize("persona", ["station_officer", "data_entry", "control_room"])
def test_roles_without_release_permission_are_refused(request, world, registry_admin, persona):
    offender = register(registry_admin)

    with pytest.raises(Forbidden):
        release(request.getfixturevalue(persona), offender)


def test_releasing_twice_is_a_conflict(world, registry_admin):
    offender = register(registry_admin)
    release(registry_admin, offender)

    with pytest.raises(Conflict) as caught:
        release(registry_admin, offender)

    assert caught.value.code == "invalid_transition"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"released_on": date(2026, 3, 11)}, "released_on"),
        ({"prison": " "}, "prison"),
        ({"address": {"text": "x", "district": "atlantis"}}, "address.district"),
    ],
)
def test_bad_release_is_refused_and_nothing_changes(world, registry_admin, overrides, field):
    offender = register(registry_admin)

    with pytest.raises(ValidationError) as caught:
        release(registry_admin, offender, **overrides)

    assert field in caught.value.message_dict
    assert reload(offender).status == S.IN_CUSTODY


def test_release_failing_halfway_rolls_back_the_address(world, registry_admin):
    offender = register(registry_admin)
    outside = {"text": "x", "district": "lahore", **KASUR_A_1}  # point in Kasur

    with pytest.raises(ValidationError):
        release(registry_admin, offender, address=outside)

    assert offender.addresses.count() == 1
    assert reload(offender).status == S.IN_CUSTODY


# --- transitions ---------------------------------------------------------------------------


ALLOWED = [
    (S.ACTIVE, S.ABSCONDED),
    (S.ABSCONDED, S.ACTIVE),
    (S.ACTIVE, S.IN_CUSTODY),
    (S.ABSCONDED, S.IN_CUSTODY),
    (S.IN_CUSTODY, S.REMOVED),
    (S.ACTIVE, S.REMOVED),
    (S.ABSCONDED, S.REMOVED),
]


def test_the_table_allows_exactly_these_moves():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == {*ALLOWED, (S.IN_CUSTODY, S.ACTIVE)}  # the last only by release


@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED)
def test_every_allowed_transition_is_made_recorded_and_audited(
    world, registry_admin, from_status, to_status
):
    offender = put_in(register(registry_admin), from_status)
    reason = "deceased" if to_status == S.REMOVED else "beat report"

    offender_transition(
        actor=registry_admin,
        offender_id=offender.pk,
        to_status=to_status,
        reason=reason,
        note="seen by the SHO",
    )

    offender = reload(offender)
    assert offender.status == to_status
    assert offender.status_changed_at is not None
    change = StatusChange.objects.filter(offender=offender).first()
    assert (change.from_status, change.to_status, change.reason, change.note) == (
        from_status,
        to_status,
        reason,
        "seen by the SHO",
    )
    event = AuditEvent.objects.filter(action="transition").get()
    assert (event.details["from"], event.details["to"]) == (from_status, to_status)
    assert "SHO" not in str(event.details)
    if to_status == S.REMOVED:
        assert offender.removal_reason == "deceased"


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        (S.IN_CUSTODY, S.ACTIVE),  # only by release
        (S.IN_CUSTODY, S.ABSCONDED),
        (S.REMOVED, S.ACTIVE),
        (S.REMOVED, S.IN_CUSTODY),
        (S.ACTIVE, S.ACTIVE),
    ],
)
def test_forbidden_transitions_are_conflicts(world, registry_admin, from_status, to_status):
    offender = put_in(register(registry_admin), from_status)

    with pytest.raises(Conflict) as caught:
        offender_transition(
            actor=registry_admin, offender_id=offender.pk, to_status=to_status, note="why"
        )

    assert caught.value.code == "invalid_transition"
    assert reload(offender).status == from_status
    assert (
        not StatusChange.objects.filter(offender=offender, to_status=to_status)
        .exclude(reason="registered")
        .exists()
    )


def test_absconding_clears_dues_and_return_restarts_them(world, registry_admin):
    offender = register(registry_admin)
    release(registry_admin, offender)

    offender_transition(
        actor=registry_admin, offender_id=offender.pk, to_status=S.ABSCONDED, note="not home"
    )
    assert reload(offender).next_checkin_due is None
    offender_transition(
        actor=registry_admin, offender_id=offender.pk, to_status=S.ACTIVE, note="arrested"
    )

    offender = reload(offender)
    assert offender.next_checkin_due == date(2026, 4, 9)  # 30 days from today
    assert offender.registration_ends_on == date(2046, 3, 8)  # from the release


def test_removal_needs_a_listed_reason(world, registry_admin):
    offender = register(registry_admin)

    with pytest.raises(ValidationError) as caught:
        offender_transition(
            actor=registry_admin, offender_id=offender.pk, to_status=S.REMOVED, reason="bored"
        )

    assert "reason" in caught.value.message_dict


def test_a_transition_says_why(world, registry_admin):
    offender = put_in(register(registry_admin), S.ACTIVE)

    with pytest.raises(ValidationError) as caught:
        offender_transition(actor=registry_admin, offender_id=offender.pk, to_status=S.ABSCONDED)

    assert "note" in caught.value.message_dict


def test_only_the_register_changes_status(world, registry_admin, station_officer):
    offender = put_in(register(registry_admin), S.ACTIVE)

    with pytest.raises(Forbidden):
        offender_transition(
            actor=station_officer, offender_id=offender.pk, to_status=S.ABSCONDED, note="x"
        )


def test_a_stale_status_loses_the_race(world, registry_admin, monkeypatch):
    """Two officers act at once: the one whose conditional update finds the status already
    moved gets a conflict rather than overwriting."""
    offender = put_in(register(registry_admin), S.ACTIVE)
    from registry.services import lifecycle

    real_get = lifecycle.offender_get

    def stale_get(**kwargs):
        seen = real_get(**kwargs)
        Offender.objects.filter(pk=seen.pk).update(status=S.IN_CUSTODY)  # the other officer
        return seen

    monkeypatch.setattr(lifecycle, "offender_get", stale_get)

    with pytest.raises(Conflict) as caught:
        offender_transition(
            actor=registry_admin, offender_id=offender.pk, to_status=S.ABSCONDED, note="x"
        )

    assert caught.value.code == "concurrent_update"
    assert not StatusChange.objects.filter(offender=offender, to_status=S.ABSCONDED).exists()


def test_tier_change_recomputes_dues_from_the_release(world, registry_admin):
    """Counted from the release (8 March), not restarted today (10 March): a tier change
    is the policy change of one offender (``registry.services.dues``)."""
    offender = register(registry_admin)
    release(registry_admin, offender)

    offender_update(actor=registry_admin, offender_id=offender.pk, data={"risk_tier": 3})

    offender = reload(offender)
    assert offender.next_checkin_due == date(2026, 3, 15)  # 7 days from the release
    assert offender.next_verification_due == date(2026, 6, 6)
    assert offender.registration_ends_on is None  # tier 3: for life
