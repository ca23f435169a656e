"""Who sees which offender (need to know, one scoping function), former supervisors' read-only
history, name search and the timeline."""

import pytest

from common.exceptions import Forbidden, NotFound
from registry import hooks
from registry.models import Offender, OffenderStatus
from registry.selectors import (
    offender_access,
    offender_list,
    offender_lookup_by_cnic,
    offender_queryset_for,
    offender_timeline,
)
from registry.services.lifecycle import offender_transition
from registry.services.offenders import offender_update
from tests.registry.offender_data import KASUR_A_1, LAHORE_B_1, register


@pytest.fixture
def offenders(world, registry_admin) -> dict[str, Offender]:
    """One in-custody and one active offender at lahore-a, one at lahore-b, one in Kasur."""
    made = {
        "lahore_a_custody": register(registry_admin),
        "lahore_a_active": register(registry_admin),
        "lahore_b": register(registry_admin, point=LAHORE_B_1),
        "kasur": register(registry_admin, district="kasur", point=KASUR_A_1),
    }
    Offender.objects.filter(pk=made["lahore_a_active"].pk).update(status=OffenderStatus.ACTIVE)
    return made


@pytest.fixture
def beat_hook(offenders):
    """A stand-in for mobile_api: the beat officer has a task for the lahore-a active one."""

    def handler(officer):
        return {offenders["lahore_a_active"].pk} if officer.username == "beat-officer" else set()

    hooks.register("beat_offender_ids", handler)
    yield
    hooks._handlers["beat_offender_ids"].remove(handler)


def visible(actor, offenders) -> set[str]:
    ids = set(offender_queryset_for(actor=actor).values_list("pk", flat=True))
    return {name for name, offender in offenders.items() if offender.pk in ids}


ALL = {"lahore_a_custody", "lahore_a_active", "lahore_b", "kasur"}
LAHORE = {"lahore_a_custody", "lahore_a_active", "lahore_b"}


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("registry_admin", ALL),
        ("data_entry", LAHORE),
        ("data_entry_elsewhere", {"kasur"}),
        ("control_room", LAHORE),
        ("control_room_elsewhere", {"kasur"}),
        ("prison_officer", {"lahore_a_custody", "lahore_b"}),
        ("prison_officer_elsewhere", {"kasur"}),
        ("station_officer", {"lahore_a_custody", "lahore_a_active"}),
        ("station_officer_elsewhere", {"lahore_b"}),
        ("beat_officer", set()),
        ("investigating_officer", set()),
        ("district_prosecutor", set()),
        ("auditor", set()),
        ("system_admin", set()),
    ],
)
def test_each_role_sees_its_jurisdiction_only(request, offenders, persona, expected):
    assert visible(request.getfixturevalue(persona), offenders) == expected


@pytest.mark.usefixtures("beat_hook")
def test_beat_officer_sees_the_offenders_its_tasks_name(
    offenders, beat_officer, beat_officer_elsewhere
):
    assert visible(beat_officer, offenders) == {"lahore_a_active"}
    assert visible(beat_officer_elsewhere, offenders) == set()


def test_inactive_officer_sees_nothing(offenders, registry_admin):
    registry_admin.is_active = False

    assert visible(registry_admin, offenders) == set()


# --- former supervisors --------------------------------------------------------------------


def test_former_district_keeps_read_only_history_and_new_district_takes_over(
    world, offenders, registry_admin, control_room, control_room_elsewhere, data_entry
):
    offender = offenders["lahore_a_active"]
    offender_update(
        actor=registry_admin,
        offender_id=offender.pk,
        data={"address": {"text": "Kasur", "district": "kasur", **KASUR_A_1}},
    )

    assert offender_access(actor=control_room_elsewhere, offender_id=offender.pk).kind == "current"
    former = offender_access(actor=control_room, offender_id=offender.pk)
    assert former.kind == "former"
    assert former.until is not None
    # No writes and no list for the former district.
    assert not offender_queryset_for(actor=data_entry).filter(pk=offender.pk).exists()
    with pytest.raises(NotFound):
        offender_update(actor=data_entry, offender_id=offender.pk, data={"full_name": "X"})


def test_former_station_keeps_history_after_a_move_within_the_district(
    world, offenders, registry_admin, station_officer, station_officer_elsewhere
):
    offender = offenders["lahore_a_active"]
    offender_update(
        actor=registry_admin,
        offender_id=offender.pk,
        data={"address": {"text": "Shalimar", "district": "lahore", **LAHORE_B_1}},
    )

    assert offender_access(actor=station_officer, offender_id=offender.pk).kind == "former"
    assert (
        offender_access(actor=station_officer_elsewhere, offender_id=offender.pk).kind == "current"
    )


def test_never_supervising_is_not_found(offenders, control_room_elsewhere, auditor):
    for actor in (control_room_elsewhere, auditor):
        with pytest.raises(NotFound):
            offender_access(actor=actor, offender_id=offenders["lahore_b"].pk)


# --- search and lookup ---------------------------------------------------------------------


def test_name_search_finds_similar_names_for_registry_admin(world, registry_admin):
    wanted = register(registry_admin, full_name="Muhammad Shahid Iqbal")
    register(registry_admin, full_name="Zulfiqar Ali Bhatti")

    found = list(offender_list(actor=registry_admin, q="Shahid Iqbal"))

    assert found == [wanted]
    assert list(offender_list(actor=registry_admin, q="Shaheed Iqbal")) == [wanted]


@pytest.mark.parametrize("persona", ["data_entry", "control_room", "station_officer"])
def test_name_search_is_forbidden_to_other_roles(request, offenders, persona):
    with pytest.raises(Forbidden):
        offender_list(actor=request.getfixturevalue(persona), q="Imtiaz")


def test_counter_lookup_finds_any_registrant_not_removed(
    world, offenders, registry_admin, station_officer
):
    kasur = offenders["kasur"]

    assert offender_lookup_by_cnic(actor=station_officer, cnic=kasur.cnic).pk == kasur.pk
    offender_transition(
        actor=registry_admin, offender_id=kasur.pk, to_status="removed", reason="data_error"
    )
    with pytest.raises(NotFound):
        offender_lookup_by_cnic(actor=station_officer, cnic=kasur.cnic)


def test_counter_lookup_needs_the_permission(offenders, control_room):
    with pytest.raises(Forbidden):
        offender_lookup_by_cnic(actor=control_room, cnic=offenders["kasur"].cnic)


# --- timeline ------------------------------------------------------------------------------


def test_timeline_gathers_everything_newest_first(world, offenders, registry_admin):
    offender = offenders["lahore_a_active"]
    offender_transition(
        actor=registry_admin, offender_id=offender.pk, to_status="absconded", note="gone"
    )

    def extra(offender, actor):
        return [
            {
                "at": offender.created_at,
                "kind": "checkin",
                "summary": "checked in",
                "object_type": "checkin",
                "object_id": 1,
            }
        ]

    hooks.register("timeline_entries", extra)
    try:
        entries = offender_timeline(actor=registry_admin, offender=offender)
    finally:
        hooks._handlers["timeline_entries"].remove(extra)

    kinds = {entry["kind"] for entry in entries}
    assert {"status_change", "address", "supervision", "conviction", "checkin"} <= kinds
    assert entries[0]["summary"] == "active → absconded"
    ats = [entry["at"] for entry in entries]
    assert ats == sorted(ats, reverse=True)
    assert "Imtiaz" not in str(entries)


def test_timeline_of_a_former_supervisor_stops_at_the_handover(
    world, offenders, registry_admin, control_room
):
    offender = offenders["lahore_a_active"]
    offender_update(
        actor=registry_admin,
        offender_id=offender.pk,
        data={"address": {"text": "Kasur", "district": "kasur", **KASUR_A_1}},
    )
    access = offender_access(actor=control_room, offender_id=offender.pk)

    entries = offender_timeline(actor=control_room, offender=access.offender, until=access.until)

    assert all(entry["at"] < access.until for entry in entries)
    assert "supervised by kasur-a" not in [entry["summary"] for entry in entries]
    assert "supervised by kasur-a" in [
        entry["summary"] for entry in offender_timeline(actor=registry_admin, offender=offender)
    ]
