"""Registering offenders and correcting their records: what is written, what is refused (with
field-level messages), and what the audit trail holds."""

from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from common.exceptions import Forbidden, NotFound
from registry.identifiers import cnic_blind_index, normalise_cnic
from registry.models import Address, Conviction, Offender, StatusChange, SupervisionPeriod
from registry.services.offenders import (
    ALREADY_REGISTERED,
    offender_create,
    offender_input_validate,
    offender_update,
    validation_context_load,
)
from tests.registry.offender_data import (
    KASUR_A_1,
    LAHORE_B_1,
    body,
    register,
    reload,
    unique_cnic,
)

TODAY = date(2026, 3, 10)


@pytest.fixture
def frozen_today():
    with time_machine.travel("2026-03-10 05:00:00+00:00", tick=False):
        yield


def errors_of(caught) -> dict:
    return caught.value.message_dict


# --- create --------------------------------------------------------------------------------


def test_create_writes_record_address_supervision_convictions_and_status(world, data_entry):
    offender = offender_create(actor=data_entry, data=body())

    offender = reload(offender)
    assert offender.cnic == "35202-1234567-1"
    assert offender.phone == "+923001234567"
    assert (offender.full_name, offender.father_name) == ("Imtiaz Ahmed", "Ghulam Rasool")
    assert offender.status == "in_custody"
    assert (offender.district, offender.station, offender.beat) == (
        world.lahore,
        world.lahore_a,
        world.lahore_a_1,
    )
    assert offender.created_by == data_entry
    assert offender.next_checkin_due is None  # no reporting while in custody
    address = Address.objects.get(offender=offender)
    assert (address.station, address.beat, address.valid_to) == (
        world.lahore_a,
        world.lahore_a_1,
        None,
    )
    period = SupervisionPeriod.objects.get(offender=offender)
    assert (period.district, period.station, period.ended_at) == (
        world.lahore,
        world.lahore_a,
        None,
    )
    conviction = Conviction.objects.get(offender=offender)
    assert conviction.sections == ["PPC 376"]
    assert conviction.victim_minor is True
    change = StatusChange.objects.get(offender=offender)
    assert (change.from_status, change.to_status, change.actor) == ("", "in_custody", data_entry)


def test_create_is_audited_without_protected_values(world, data_entry):
    offender = offender_create(actor=data_entry, data=body())

    event = AuditEvent.objects.get(action="create", object_type="offender")
    assert event.object_id == str(offender.pk)
    assert event.actor_id == data_entry.pk
    dumped = str(list(AuditEvent.objects.values()))
    for protected in ("1234567", "Imtiaz", "Ghulam", "Samanabad", "3001234567"):
        assert protected not in dumped


@pytest.mark.usefixtures("frozen_today")
def test_create_as_active_starts_reporting_from_today(world, registry_admin, recorded_hooks):
    offender = offender_create(
        actor=registry_admin,
        data=body(status="active", released_on="2025-12-01", release_prison="Camp Jail"),
    )

    offender = reload(offender)
    assert offender.status == "active"
    # Tier 2 (seeded): check-in every 30 days, verification every 180, 20 years' registration.
    assert offender.next_checkin_due == date(2026, 4, 9)
    assert offender.next_verification_due == date(2026, 9, 6)
    assert offender.registration_ends_on == date(2045, 12, 1)
    assert [name for name, _ in recorded_hooks] == ["offender_released"]


def test_urdu_names_aliases_and_references_are_kept(world, registry_admin):
    offender = offender_create(
        actor=registry_admin,
        data=body(
            full_name_ur="امتیاز احمد",
            aliases=["Taji", "Taji", " Imti "],
            dna_profile_ref="FSL-DNA-2021-0042",
            biometric_ref="NADRA-BIO-77",
        ),
    )

    offender = reload(offender)
    assert offender.full_name_ur == "امتیاز احمد"
    assert offender.aliases == ["Taji", "Imti"]
    assert offender.dna_profile_ref == "FSL-DNA-2021-0042"


def test_point_without_a_station_is_supervised_by_the_district(world, registry_admin):
    offender = offender_create(
        actor=registry_admin, data=body(address={"text": "Village X", "district": "kasur"})
    )

    assert (offender.district, offender.station, offender.beat) == (world.kasur, None, None)


# --- refused input -------------------------------------------------------------------------


def test_cnic_already_registered_is_a_field_error(world, registry_admin):
    offender_create(actor=registry_admin, data=body())

    with pytest.raises(ValidationError) as caught:
        offender_create(actor=registry_admin, data=body(cnic="3520212345671"))

    assert errors_of(caught) == {"cnic": [ALREADY_REGISTERED]}
    assert Offender.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cnic": "3520-1234567-1"}, "cnic"),
        ({"cnic": ""}, "cnic"),
        ({"phone": "042-35761234"}, "phone"),
        ({"full_name": "  "}, "full_name"),
        ({"gender": "other"}, "gender"),
        ({"date_of_birth": "2030-01-01"}, "date_of_birth"),
        ({"date_of_birth": "2.3.1985"}, "date_of_birth"),
        ({"risk_tier": 9}, "risk_tier"),
        ({"status": "absconded"}, "status"),
        ({"status": "active"}, "released_on"),
        ({"address": {"text": "x", "district": "atlantis"}}, "address.district"),
        ({"address": {"text": "", "district": "lahore"}}, "address.text"),
        ({"address": {"text": "x", "district": "lahore", "lat": 31.2}}, "address.lat"),
        (
            {"address": {"text": "x", "district": "lahore", "lat": "north", "lon": 74.2}},
            "address.lat",
        ),
        ({"address": {"text": "x", "district": "lahore", **KASUR_A_1}}, "address.district"),
        ({"convictions": []}, "convictions"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(world, registry_admin, overrides, field):
    with pytest.raises(ValidationError) as caught:
        offender_create(actor=registry_admin, data=body(**overrides))

    assert field in errors_of(caught)
    assert not Offender.objects.exists()


def test_conviction_errors_name_the_conviction_and_field(world, registry_admin):
    good = body()["convictions"][0]
    bad = {**good, "case_number": "SC-46/2021", "sections": ["PPC 302"], "conviction_date": ""}

    with pytest.raises(ValidationError) as caught:
        offender_create(actor=registry_admin, data=body(convictions=[good, bad]))

    assert set(errors_of(caught)) == {
        "convictions[1].sections",
        "convictions[1].conviction_date",
    }


def test_validation_reports_every_field_at_once(world):
    with pytest.raises(ValidationError) as caught:
        offender_input_validate(data={"cnic": "1", "gender": "x", "convictions": [{}]})

    fields = set(errors_of(caught))
    assert {"cnic", "full_name", "father_name", "gender", "risk_tier", "address"} <= fields
    assert "convictions[0].sections" in fields
    assert "convictions[0].victim_minor" in fields


def test_validation_accepts_already_parsed_values(world):
    data = body(date_of_birth=date(1985, 3, 2))
    data["convictions"][0]["conviction_date"] = date(2021, 6, 1)

    entry = offender_input_validate(data=data)

    assert entry.identity["date_of_birth"] == date(1985, 3, 2)
    assert entry.address.station == world.lahore_a
    assert entry.convictions[0]["sections"] == ["PPC 376"]


# --- validating many records with a context (the import) ----------------------------------


def _index(data: dict) -> str:
    return cnic_blind_index(normalise_cnic(data["cnic"]))


def _without_point(data: dict) -> dict:
    data["address"] = {"text": "House 1", "district": data["address"]["district"]}
    return data


@pytest.mark.parametrize("count", [10, 50])
def test_validating_with_a_context_reads_the_database_a_constant_number_of_times(
    world, registry_admin, count
):
    registered = register(registry_admin)
    bodies = [_without_point(body(cnic=unique_cnic(), risk_tier=1 + n % 3)) for n in range(count)]
    bodies[0]["address"]["district"] = "kasur"
    bodies[1]["cnic"] = registered.cnic

    with CaptureQueriesContext(connection) as loading:
        context = validation_context_load(cnic_indexes=[_index(data) for data in bodies])
    with CaptureQueriesContext(connection) as validating:
        entries = [offender_input_validate(data=data, context=context) for data in bodies[2:]]
        with pytest.raises(ValidationError) as refused:
            offender_input_validate(data=bodies[1], context=context)

    # Registered CNICs among the file's, districts, policies: whatever the number of records.
    assert len(loading) == 3
    assert len(validating) == 0
    assert errors_of(refused) == {"cnic": [ALREADY_REGISTERED]}
    assert offender_input_validate(data=bodies[0], context=context).address.district == world.kasur
    assert {entry.risk_tier for entry in entries} == {1, 2, 3}


def test_with_a_context_a_point_costs_one_query_per_record(world, django_assert_num_queries):
    bodies = [body(cnic=unique_cnic()) for _ in range(20)]
    context = validation_context_load(cnic_indexes=[_index(data) for data in bodies])
    offender_input_validate(data=bodies[0], context=context)  # geometries now cached

    with django_assert_num_queries(len(bodies)):  # the point's jurisdiction, nothing else
        entries = [offender_input_validate(data=data, context=context) for data in bodies]

    assert {(e.address.station, e.address.beat) for e in entries} == {
        (world.lahore_a, world.lahore_a_1)
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"risk_tier": 9},
        {"address": {"text": "x", "district": "atlantis"}},
        {"address": {"text": "x", "district": "lahore", **KASUR_A_1}},
        {"status": "active", "released_on": "2025-01-01", "address": {"text": "x"}},
    ],
)
def test_a_context_gives_the_same_answers_as_the_database(world, registry_admin, overrides):
    data = body(cnic=unique_cnic(), **overrides)
    context = validation_context_load(cnic_indexes=[_index(data)])

    def outcome(**kwargs):
        try:
            return offender_input_validate(data=data, **kwargs)
        except ValidationError as exc:
            return exc.message_dict

    assert outcome(context=context) == outcome()


def test_a_cnic_the_context_was_not_loaded_for_is_looked_up(
    world, registry_admin, django_assert_num_queries
):
    registered = register(registry_admin)
    context = validation_context_load(cnic_indexes=[])
    data = _without_point(body(cnic=registered.cnic))

    with django_assert_num_queries(1), pytest.raises(ValidationError) as caught:
        offender_input_validate(data=data, context=context)

    assert errors_of(caught) == {"cnic": [ALREADY_REGISTERED]}


def test_data_entry_registers_only_in_its_district(world, data_entry_elsewhere):
    with pytest.raises(ValidationError) as caught:
        offender_create(actor=data_entry_elsewhere, data=body())

    assert "address.district" in errors_of(caught)


@pytest.mark.parametrize("persona", ["station_officer", "prison_officer", "control_room"])
def test_roles_without_create_permission_are_refused(request, world, persona):
    with pytest.raises(Forbidden):
        offender_create(actor=request.getfixturevalue(persona), data=body())


# --- update --------------------------------------------------------------------------------


def test_update_changes_only_given_fields_and_audits_their_names(world, data_entry):
    offender = register(data_entry)

    offender_update(
        actor=data_entry,
        offender_id=offender.pk,
        data={"full_name": "Imtiaz Ahmad", "phone": "0345-1112223"},
    )

    offender = reload(offender)
    assert offender.full_name == "Imtiaz Ahmad"
    assert offender.phone == "+923451112223"
    assert offender.father_name == "Ghulam Rasool"
    event = AuditEvent.objects.get(action="update", object_type="offender")
    assert event.details == {"fields": ["full_name", "phone"]}


def test_update_to_a_registered_cnic_is_refused(world, registry_admin):
    first = register(registry_admin)
    second = register(registry_admin)

    with pytest.raises(ValidationError) as caught:
        offender_update(actor=registry_admin, offender_id=second.pk, data={"cnic": first.cnic})

    assert errors_of(caught) == {"cnic": [ALREADY_REGISTERED]}


def test_update_refuses_status_and_unknown_fields(world, registry_admin):
    offender = register(registry_admin)

    with pytest.raises(ValidationError) as caught:
        offender_update(
            actor=registry_admin, offender_id=offender.pk, data={"status": "active", "x": 1}
        )

    assert set(errors_of(caught)) == {"status", "x"}


def test_update_out_of_district_is_not_found(world, data_entry, data_entry_elsewhere):
    offender = register(data_entry)

    with pytest.raises(NotFound):
        offender_update(
            actor=data_entry_elsewhere, offender_id=offender.pk, data={"full_name": "X"}
        )


def test_new_address_in_another_district_transfers_supervision(
    world, registry_admin, recorded_hooks
):
    offender = register(registry_admin)

    offender_update(
        actor=registry_admin,
        offender_id=offender.pk,
        data={"address": {"text": "Kot Radha Kishan", "district": "kasur", **KASUR_A_1}},
    )

    offender = reload(offender)
    assert (offender.district, offender.station, offender.beat) == (
        world.kasur,
        world.kasur_a,
        world.kasur_a_1,
    )
    periods = list(SupervisionPeriod.objects.filter(offender=offender).order_by("started_at"))
    assert [(p.district, p.ended_at is None) for p in periods] == [
        (world.lahore, False),
        (world.kasur, True),
    ]
    assert Address.objects.filter(offender=offender, valid_to__isnull=True).get().text == (
        "Kot Radha Kishan"
    )
    names = [name for name, _ in recorded_hooks]
    assert names == ["address_changed", "offender_transferred"]
    assert recorded_hooks[1][1]["old_district"] == world.lahore


def test_move_within_the_district_changes_station_without_transfer(
    world, registry_admin, recorded_hooks
):
    offender = register(registry_admin)

    offender_update(
        actor=registry_admin,
        offender_id=offender.pk,
        data={"address": {"text": "Shalimar", "district": "lahore", **LAHORE_B_1}},
    )

    assert reload(offender).station == world.lahore_b
    assert SupervisionPeriod.objects.filter(offender=offender).count() == 2
    assert [name for name, _ in recorded_hooks] == ["address_changed"]


def test_failed_update_leaves_the_record_untouched(world, registry_admin):
    offender = register(registry_admin)

    with pytest.raises(ValidationError):
        offender_update(
            actor=registry_admin,
            offender_id=offender.pk,
            data={"full_name": "New Name", "phone": "bad"},
        )

    assert reload(offender).full_name == "Imtiaz Ahmed"
    assert not AuditEvent.objects.filter(action="update").exists()
