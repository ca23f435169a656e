"""Notices of change: deadlines and the late flag, what each kind changes on the record, who may
file and handle them, and the acknowledge / cancel / close machine."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import AuditEvent
from common.exceptions import Conflict, Forbidden, NotFound
from compliance.models import Violation, ViolationKind
from registry import hooks
from registry.models import (
    Address,
    Notice,
    NoticeDeadline,
    NoticeKind,
    NoticeStatus,
    Offender,
    OffenderStatus,
)
from registry.services.notices import (
    notice_acknowledge,
    notice_cancel,
    notice_close,
    notice_deadline_compute,
    notice_details,
    notice_file,
)
from tests.factories import OffenderFactory

PKT = ZoneInfo("Asia/Karachi")
# "Today" for every dated test: 10 March 2026, mid-morning in Pakistan.
TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=PKT)


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def offender(world, deadlines) -> Offender:
    """Supervised by station lahore-a; active."""
    return OffenderFactory(
        district=world.lahore,
        station=world.lahore_a,
        beat=world.lahore_a_1,
        full_name="Rashid Mehmood",
        cnic="35202-7654321-3",
        phone="+923331112223",
    )


def file_change(actor, offender, kind=NoticeKind.EMPLOYMENT_CHANGE, **fields) -> Notice:
    defaults = {
        NoticeKind.EMPLOYMENT_CHANGE: {"employer": "Model Town Bakery"},
        NoticeKind.PHONE_CHANGE: {"phone": "0345-9876543"},
        NoticeKind.NAME_CHANGE: {"full_name": "Rashid Ali"},
    }
    fields.setdefault("changed_on", TODAY)
    fields.setdefault("details", defaults.get(kind))
    return notice_file(actor=actor, offender_id=offender.pk, kind=kind, **fields)


def file_travel(actor, offender, kind=NoticeKind.DOMESTIC_TRAVEL, **fields) -> Notice:
    fields.setdefault("departure_date", TODAY + timedelta(days=10))
    fields.setdefault("return_date", fields["departure_date"] + timedelta(days=5))
    fields.setdefault("purpose", "family wedding")
    if kind == NoticeKind.DOMESTIC_TRAVEL:
        fields.setdefault("destination_district", "kasur")
    else:
        fields.setdefault("destination_country", "AE")
        fields.setdefault("destination_city", "Dubai")
    return notice_file(actor=actor, offender_id=offender.pk, kind=kind, **fields)


def late_notice_violations(notice: Notice):
    return Violation.objects.filter(kind=ViolationKind.LATE_NOTICE, cause_id=str(notice.pk))


# --- deadlines -----------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize(
    "kind",
    [
        NoticeKind.NAME_CHANGE,
        NoticeKind.PHONE_CHANGE,
        NoticeKind.EMPLOYMENT_CHANGE,
    ],
)
@pytest.mark.parametrize(
    ("days_since_change", "late"), [(0, False), (3, False), (4, True)], ids=["same", "3d", "4d"]
)
def test_change_notice_is_late_after_three_days(
    station_officer, offender, kind, days_since_change, late
):
    notice = file_change(
        station_officer, offender, kind, changed_on=TODAY - timedelta(days=days_since_change)
    )

    assert notice.deadline == TODAY - timedelta(days=days_since_change) + timedelta(days=3)
    assert notice.is_late is late
    assert notice.status == NoticeStatus.FILED
    assert late_notice_violations(notice).count() == (1 if late else 0)


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize(
    ("kind", "days_ahead", "late"),
    [
        (NoticeKind.INTERNATIONAL_TRAVEL, 7, False),
        (NoticeKind.INTERNATIONAL_TRAVEL, 6, True),
        (NoticeKind.DOMESTIC_TRAVEL, 3, False),
        (NoticeKind.DOMESTIC_TRAVEL, 2, True),
    ],
)
def test_travel_notice_is_late_when_filed_too_close_to_departure(
    station_officer, offender, kind, days_ahead, late
):
    departure = TODAY + timedelta(days=days_ahead)

    notice = file_travel(station_officer, offender, kind, departure_date=departure)

    assert notice.deadline == departure - timedelta(
        days=7 if kind == NoticeKind.INTERNATIONAL_TRAVEL else 3
    )
    assert notice.is_late is late
    assert late_notice_violations(notice).count() == (1 if late else 0)


def test_deadline_days_are_pakistan_days(station_officer, offender):
    """19:30 UTC on the 13th is already the 14th in Pakistan: a change of the 10th is late."""
    with time_machine.travel(datetime(2026, 3, 13, 19, 30, tzinfo=ZoneInfo("UTC")), tick=False):
        notice = file_change(station_officer, offender, changed_on=date(2026, 3, 10))

    assert notice.deadline == date(2026, 3, 13)
    assert notice.is_late is True


@pytest.mark.usefixtures("frozen_now")
def test_deadline_follows_the_configured_policy(station_officer, offender):
    NoticeDeadline.objects.filter(kind=NoticeKind.EMPLOYMENT_CHANGE).update(days_after_change=7)

    notice = file_change(station_officer, offender, changed_on=TODAY - timedelta(days=6))

    assert notice.deadline == TODAY + timedelta(days=1)
    assert notice.is_late is False


# --- late notices and the compliance hook --------------------------------------------------


@pytest.mark.usefixtures("frozen_now")
def test_late_notice_is_accepted_and_raises_one_late_notice_violation(
    world, station_officer, offender
):
    notice = file_travel(
        station_officer,
        offender,
        NoticeKind.INTERNATIONAL_TRAVEL,
        departure_date=TODAY + timedelta(days=2),
    )

    assert Notice.objects.filter(pk=notice.pk, is_late=True).exists()
    violation = late_notice_violations(notice).get()
    assert violation.offender == offender
    assert violation.district == world.lahore
    assert violation.station == world.lahore_a
    assert violation.cause_type.model == "notice"
    # The breach happened when the deadline day ended in Pakistan, capped at the filing.
    assert violation.occurred_at <= notice.filed_at
    assert "Rashid" not in violation.summary


@pytest.mark.usefixtures("frozen_now")
def test_late_notice_hook_fired_twice_still_makes_one_violation(station_officer, offender):
    notice = file_change(station_officer, offender, changed_on=TODAY - timedelta(days=10))

    hooks.call("notice_late", notice=notice, actor=station_officer)
    hooks.call("notice_late", notice=notice, actor=station_officer)

    assert late_notice_violations(notice).count() == 1


# --- what each kind changes ----------------------------------------------------------------


@pytest.mark.usefixtures("frozen_now")
def test_name_change_renames_and_keeps_the_old_name_as_alias(station_officer, offender):
    notice = file_change(
        station_officer,
        offender,
        NoticeKind.NAME_CHANGE,
        details={"full_name": "Rashid Ali Khan", "full_name_ur": "راشد علی خان"},
    )

    offender.refresh_from_db()
    assert offender.full_name == "Rashid Ali Khan"
    assert offender.full_name_ur == "راشد علی خان"
    assert "Rashid Mehmood" in offender.aliases
    assert notice_details(notice) == {
        "full_name": "Rashid Ali Khan",
        "full_name_ur": "راشد علی خان",
    }


@pytest.mark.usefixtures("frozen_now")
def test_phone_change_updates_the_normalised_phone_encrypted_at_rest(station_officer, offender):
    notice = file_change(
        station_officer, offender, NoticeKind.PHONE_CHANGE, details={"phone": "0345-9876543"}
    )

    offender.refresh_from_db()
    assert offender.phone == "+923459876543"
    assert notice_details(notice) == {"phone": "+923459876543"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM registry_notice WHERE id = %s", [notice.pk])
        (raw_details,) = cursor.fetchone()
        cursor.execute("SELECT phone FROM registry_offender WHERE id = %s", [offender.pk])
        (raw_phone,) = cursor.fetchone()
    for raw in (raw_details, raw_phone):
        assert "9876543" not in raw
        assert raw.startswith("v1:")


@pytest.mark.usefixtures("frozen_now")
def test_name_and_phone_changes_leave_no_protected_value_in_the_audit_trail(
    station_officer, offender
):
    file_change(
        station_officer, offender, NoticeKind.NAME_CHANGE, details={"full_name": "Zahid Iqbal"}
    )
    file_change(
        station_officer, offender, NoticeKind.PHONE_CHANGE, details={"phone": "03459876543"}
    )

    events = list(AuditEvent.objects.values())
    assert {(e["action"], e["object_type"]) for e in events} >= {
        ("create", "notice"),
        ("update", "offender"),
    }
    dumped = str(events)
    for protected in ("Zahid", "Iqbal", "Rashid", "9876543", "1112223", "7654321"):
        assert protected not in dumped


@pytest.mark.usefixtures("frozen_now")
def test_address_change_creates_the_new_current_address(world, station_officer, offender):
    old = Address.objects.get(offender=offender, valid_to__isnull=True)

    notice = file_change(
        station_officer,
        offender,
        NoticeKind.ADDRESS_CHANGE,
        details={
            "address": {"text": "12 Canal View", "district": "lahore", "lat": 31.7, "lon": 74.2}
        },
    )

    current = Address.objects.get(offender=offender, valid_to__isnull=True)
    assert current.pk != old.pk
    assert current.text == "12 Canal View"
    assert current.district == world.lahore
    assert (current.lon, current.lat) == (74.2, 31.7)
    old.refresh_from_db()
    assert old.valid_to is not None
    assert notice_details(notice)["address_id"] == current.pk


@pytest.mark.usefixtures("frozen_now")
def test_employment_change_is_recorded_on_the_notice_only(station_officer, offender):
    before = Offender.objects.filter(pk=offender.pk).values().get()

    notice = file_change(
        station_officer,
        offender,
        details={"employer": "Lahore Textiles", "occupation": "loom operator"},
    )

    assert notice_details(notice) == {"employer": "Lahore Textiles", "occupation": "loom operator"}
    after = Offender.objects.filter(pk=offender.pk).values().get()
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


@pytest.mark.usefixtures("frozen_now")
def test_travel_notice_carries_destination_dates_and_purpose(world, station_officer, offender):
    domestic = file_travel(station_officer, offender)
    abroad = file_travel(
        station_officer, offender, NoticeKind.INTERNATIONAL_TRAVEL, destination_country="sa"
    )

    assert domestic.destination_district == world.kasur
    assert domestic.station == world.lahore_a
    assert (abroad.destination_country, abroad.destination_city) == ("SA", "Dubai")
    assert abroad.departure_date == TODAY + timedelta(days=10)
    assert abroad.return_date == TODAY + timedelta(days=15)
    assert abroad.purpose == "family wedding"
    assert notice_details(abroad) == {}


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize(
    ("kind", "fields", "error_field"),
    [
        (NoticeKind.PHONE_CHANGE, {"details": {"phone": "12345"}}, "details.phone"),
        (NoticeKind.PHONE_CHANGE, {"details": {}}, "details.phone"),
        (NoticeKind.NAME_CHANGE, {"details": {"phone": "03001234567"}}, "details.full_name"),
        (
            NoticeKind.EMPLOYMENT_CHANGE,
            {"details": {"employer": "x", "full_name": "y"}},
            "details.full_name",
        ),
        (
            NoticeKind.ADDRESS_CHANGE,
            {"details": {"address": {"text": "x", "district": "atlantis"}}},
            "details.address.district",
        ),
        (
            NoticeKind.EMPLOYMENT_CHANGE,
            {"changed_on": TODAY + timedelta(days=1)},
            "changed_on",
        ),
        (NoticeKind.EMPLOYMENT_CHANGE, {"changed_on": None}, "changed_on"),
    ],
)
def test_bad_change_notice_is_rejected_with_the_field_named(
    station_officer, offender, kind, fields, error_field
):
    with pytest.raises(ValidationError) as excinfo:
        file_change(station_officer, offender, kind, **fields)

    assert error_field in excinfo.value.error_dict
    assert not Notice.objects.exists()


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize(
    ("kind", "fields", "error_field"),
    [
        (NoticeKind.DOMESTIC_TRAVEL, {"destination_district": "atlantis"}, "destination_district"),
        (NoticeKind.INTERNATIONAL_TRAVEL, {"destination_country": "PK"}, "destination_country"),
        (NoticeKind.INTERNATIONAL_TRAVEL, {"destination_country": "U1"}, "destination_country"),
        (NoticeKind.INTERNATIONAL_TRAVEL, {"destination_city": ""}, "destination_city"),
        (NoticeKind.DOMESTIC_TRAVEL, {"purpose": " "}, "purpose"),
        (
            NoticeKind.DOMESTIC_TRAVEL,
            {"departure_date": TODAY + timedelta(days=9), "return_date": TODAY},
            "return_date",
        ),
        (NoticeKind.DOMESTIC_TRAVEL, {"changed_on": TODAY}, "changed_on"),
    ],
)
def test_bad_travel_notice_is_rejected_with_the_field_named(
    station_officer, offender, kind, fields, error_field
):
    with pytest.raises(ValidationError) as excinfo:
        file_travel(station_officer, offender, kind, **fields)

    assert error_field in excinfo.value.error_dict
    assert not Notice.objects.exists()


# --- who may file --------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen_now")
def test_registry_admin_files_for_any_offender(registry_admin, world, deadlines):
    kasur_offender = OffenderFactory(district=world.kasur, station=world.kasur_a)

    notice = file_change(registry_admin, kasur_offender)

    assert notice.station == world.kasur_a
    assert notice.filed_by == registry_admin


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("persona", ["control_room", "data_entry", "beat_officer", "auditor"])
def test_roles_without_notice_file_may_not_file(request, offender, persona):
    with pytest.raises(Forbidden):
        file_change(request.getfixturevalue(persona), offender)


@pytest.mark.usefixtures("frozen_now")
def test_other_station_cannot_file_without_the_cnic_at_the_counter(
    station_officer_elsewhere, offender
):
    with pytest.raises(NotFound):
        file_change(station_officer_elsewhere, offender)
    with pytest.raises(NotFound):
        file_change(station_officer_elsewhere, offender, cnic="35202-1111111-1")


@pytest.mark.usefixtures("frozen_now")
def test_counter_filing_at_another_station_is_routed_to_the_supervising_station(
    world, station_officer_elsewhere, offender
):
    notice = file_travel(station_officer_elsewhere, offender, cnic="3520276543213")

    assert notice.station == world.lahore_a
    assert notice.filed_by == station_officer_elsewhere
    event = AuditEvent.objects.get(action="create", object_type="notice")
    assert event.details["via_counter"] is True
    assert event.details["filed_at_station_id"] == world.lahore_b.pk
    assert event.details["station_id"] == world.lahore_a.pk


@pytest.mark.usefixtures("frozen_now")
def test_counter_filing_is_only_for_active_registrants(station_officer_elsewhere, offender):
    Offender.objects.filter(pk=offender.pk).update(status=OffenderStatus.IN_CUSTODY)

    with pytest.raises(NotFound):
        file_travel(station_officer_elsewhere, offender, cnic="35202-7654321-3")


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("status", [OffenderStatus.IN_CUSTODY, OffenderStatus.REMOVED])
def test_no_notice_for_an_offender_not_under_the_duty_to_report(station_officer, offender, status):
    Offender.objects.filter(pk=offender.pk).update(status=status, removal_reason="deceased")

    with pytest.raises(Conflict):
        file_change(station_officer, offender)


# --- acknowledge, cancel, close -------------------------------------------------------------


@pytest.fixture
def returned_calls():
    calls: list[tuple[int, int]] = []

    def record(*, notice, actor) -> None:
        calls.append((notice.pk, actor.pk))

    hooks.register("travel_returned", record)
    yield calls
    hooks._handlers["travel_returned"].remove(record)


@pytest.mark.usefixtures("frozen_now")
def test_travel_notice_is_acknowledged_then_closed_on_return(
    station_officer, offender, returned_calls
):
    notice = file_travel(station_officer, offender, departure_date=TODAY - timedelta(days=3))

    notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    closed = notice_close(actor=station_officer, notice_id=notice.pk, returned_on=TODAY)

    closed.refresh_from_db()
    assert closed.status == NoticeStatus.CLOSED
    assert closed.acknowledged_by == station_officer
    assert closed.closed_by == station_officer
    assert closed.returned_on == TODAY
    assert returned_calls == [(notice.pk, station_officer.pk)]
    transitions = AuditEvent.objects.filter(action="transition", object_id=str(notice.pk))
    assert sorted((e.details["from"], e.details["to"]) for e in transitions) == [
        ("acknowledged", "closed"),
        ("filed", "acknowledged"),
    ]


@pytest.mark.usefixtures("frozen_now")
def test_closing_a_travel_notice_not_yet_acknowledged_is_a_conflict(
    station_officer, offender, returned_calls
):
    notice = file_travel(station_officer, offender, departure_date=TODAY - timedelta(days=3))

    with pytest.raises(Conflict):
        notice_close(actor=station_officer, notice_id=notice.pk, returned_on=TODAY)
    assert returned_calls == []


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize(
    "returned_on", [TODAY + timedelta(days=1), TODAY - timedelta(days=4)], ids=["future", "before"]
)
def test_close_with_an_impossible_return_date_is_rejected(station_officer, offender, returned_on):
    notice = file_travel(station_officer, offender, departure_date=TODAY - timedelta(days=3))
    notice_acknowledge(actor=station_officer, notice_id=notice.pk)

    with pytest.raises(ValidationError) as excinfo:
        notice_close(actor=station_officer, notice_id=notice.pk, returned_on=returned_on)

    assert "returned_on" in excinfo.value.error_dict


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("acknowledge_first", [False, True])
def test_travel_notice_can_be_cancelled_with_a_reason(station_officer, offender, acknowledge_first):
    notice = file_travel(station_officer, offender)
    if acknowledge_first:
        notice_acknowledge(actor=station_officer, notice_id=notice.pk)

    cancelled = notice_cancel(actor=station_officer, notice_id=notice.pk, reason="trip called off")

    cancelled.refresh_from_db()
    assert cancelled.status == NoticeStatus.CANCELLED
    assert cancelled.cancel_reason == "trip called off"
    assert cancelled.cancelled_by == station_officer


@pytest.mark.usefixtures("frozen_now")
def test_cancel_needs_a_reason(station_officer, offender):
    notice = file_travel(station_officer, offender)

    with pytest.raises(ValidationError):
        notice_cancel(actor=station_officer, notice_id=notice.pk, reason="  ")


@pytest.mark.usefixtures("frozen_now")
def test_notice_in_the_wrong_state_is_a_conflict(station_officer, offender):
    notice = file_travel(station_officer, offender)
    notice_cancel(actor=station_officer, notice_id=notice.pk, reason="called off")

    with pytest.raises(Conflict):
        notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    with pytest.raises(Conflict):
        notice_cancel(actor=station_officer, notice_id=notice.pk, reason="again")
    with pytest.raises(Conflict):
        notice_close(actor=station_officer, notice_id=notice.pk, returned_on=TODAY)


@pytest.mark.usefixtures("frozen_now")
def test_change_notice_ends_at_acknowledged(station_officer, offender):
    notice = file_change(station_officer, offender)

    notice_acknowledge(actor=station_officer, notice_id=notice.pk)

    with pytest.raises(Conflict) as cancelled:
        notice_cancel(actor=station_officer, notice_id=notice.pk, reason="mistake")
    with pytest.raises(Conflict) as closed:
        notice_close(actor=station_officer, notice_id=notice.pk, returned_on=TODAY)
    assert cancelled.value.code == closed.value.code == "not_a_travel_notice"
    assert Notice.objects.get(pk=notice.pk).status == NoticeStatus.ACKNOWLEDGED


@pytest.mark.usefixtures("frozen_now")
def test_only_the_supervising_station_handles_a_notice(
    station_officer, station_officer_elsewhere, control_room, offender
):
    from checkins import otp
    from checkins.models import NoticeChallenge
    from checkins.services.notice_confirmation import notice_confirmation_verify

    notice = file_travel(station_officer_elsewhere, offender, cnic="35202-7654321-3")
    with pytest.raises(Conflict):  # a counter notice waits for the offender's code
        notice_acknowledge(actor=station_officer, notice_id=notice.pk)
    challenge = NoticeChallenge.objects.get(notice=notice)
    notice_confirmation_verify(
        actor=station_officer_elsewhere,
        notice_id=notice.pk,
        code=otp.code_at(challenge.secret, challenge.counter),
    )

    with pytest.raises(NotFound):
        notice_acknowledge(actor=station_officer_elsewhere, notice_id=notice.pk)
    with pytest.raises(Forbidden):
        notice_acknowledge(actor=control_room, notice_id=notice.pk)
    assert notice_acknowledge(actor=station_officer, notice_id=notice.pk).status == "acknowledged"


@pytest.mark.usefixtures("frozen_now")
def test_timeline_entries_tell_the_notice_story_without_values(station_officer, offender):
    from registry.selectors_notices import notice_timeline_entries

    travel = file_travel(station_officer, offender)
    notice_acknowledge(actor=station_officer, notice_id=travel.pk)
    phone = file_change(
        station_officer, offender, NoticeKind.PHONE_CHANGE, changed_on=TODAY - timedelta(days=5)
    )

    entries = notice_timeline_entries(actor=station_officer, offender_id=offender.pk)

    assert sorted((e["object_id"], e["summary"]) for e in entries) == sorted(
        [
            (travel.pk, "domestic_travel notice filed"),
            (travel.pk, "domestic_travel notice acknowledged"),
            (phone.pk, "phone_change notice filed (late)"),
        ]
    )
    assert all(e["at"] == NOW for e in entries)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "domestic_travel", "departure_date": date.min}, "departure_date"),
        ({"kind": "phone_change", "changed_on": date.max}, "changed_on"),
    ],
)
def test_deadline_arithmetic_at_the_ends_of_the_calendar_is_a_field_error(kwargs, field):
    rule = NoticeDeadline(kind=kwargs["kind"], days_after_change=14, days_before_departure=7)

    with pytest.raises(ValidationError) as raised:
        notice_deadline_compute(rule=rule, **kwargs)

    assert field in raised.value.message_dict
