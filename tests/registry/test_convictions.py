"""Adding a conviction to an existing record: ``conviction_add`` and
POST /api/v1/offenders/{id}/convictions/ — the shared conviction rules, scope, duplicates and
the audit trail."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from audit.models import AuditEvent
from common.exceptions import Forbidden, NotFound
from registry.models import Conviction, Offender
from registry.services.offenders import CASE_ALREADY_RECORDED, conviction_add
from tests.helpers import wait_until_a_backend_waits_on_a_lock
from tests.registry.offender_data import BODY, register


def url(offender_id: int) -> str:
    return f"/api/v1/offenders/{offender_id}/convictions/"


def conviction(**overrides) -> dict:
    """A second conviction, a different court case from the one ``register`` records."""
    data = {
        "fir_number": "77/2023",
        "police_station": "Samanabad",
        "court": "Sessions Court Lahore",
        "case_number": "SC-12/2023",
        "conviction_date": "2023-09-14",
        "sentence": "7 years rigorous imprisonment",
        "sections": ["PPC 377"],
        "victim_minor": False,
    }
    data.update(overrides)
    return data


@pytest.fixture
def offender(world, registry_admin) -> Offender:
    """In custody in lahore (station lahore-a), with the conviction of ``BODY``."""
    return register(registry_admin)


# --- service -------------------------------------------------------------------------------


def test_data_entry_adds_a_conviction_in_its_district(data_entry, offender):
    added = conviction_add(actor=data_entry, offender_id=offender.pk, data=conviction())

    assert added.offender_id == offender.pk
    assert (added.case_number, added.sections, added.victim_minor) == (
        "SC-12/2023",
        ["PPC 377"],
        False,
    )
    assert offender.convictions.count() == 2


def test_sections_are_validated_as_for_a_new_record(data_entry, offender):
    with pytest.raises(ValidationError) as caught:
        conviction_add(
            actor=data_entry, offender_id=offender.pk, data=conviction(sections=["PPC 302"])
        )

    assert set(caught.value.message_dict) == {"sections"}
    assert offender.convictions.count() == 1


def test_a_court_case_already_recorded_is_refused_on_case_number(data_entry, offender):
    first = BODY["convictions"][0]
    data = conviction(court=first["court"], case_number=first["case_number"])

    with pytest.raises(ValidationError) as caught:
        conviction_add(actor=data_entry, offender_id=offender.pk, data=data)

    assert caught.value.message_dict == {"case_number": [CASE_ALREADY_RECORDED]}


def test_out_of_district_is_not_found(data_entry_elsewhere, offender):
    with pytest.raises(NotFound):
        conviction_add(actor=data_entry_elsewhere, offender_id=offender.pk, data=conviction())


def test_station_officer_may_not_add(station_officer, offender):
    with pytest.raises(Forbidden):
        conviction_add(actor=station_officer, offender_id=offender.pk, data=conviction())


def test_the_addition_is_audited_without_the_case(data_entry, offender):
    added = conviction_add(actor=data_entry, offender_id=offender.pk, data=conviction())

    event = AuditEvent.objects.get(action="create", object_type="conviction")
    assert event.object_id == str(added.pk)
    assert event.actor_id == data_entry.pk
    assert event.details == {"offender_id": offender.pk}


# --- API -----------------------------------------------------------------------------------


def test_post_answers_201_with_the_conviction(client_for, data_entry, offender):
    response = client_for(data_entry).post(url(offender.pk), conviction(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["id"] == Conviction.objects.get(case_number="SC-12/2023").pk
    assert (body["case_number"], body["sections"], body["conviction_date"]) == (
        "SC-12/2023",
        ["PPC 377"],
        "2023-09-14",
    )
    assert AuditEvent.objects.filter(
        action="create", object_type="conviction", object_id=str(body["id"])
    ).exists()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("data_entry_elsewhere", 404), ("station_officer", 403), ("control_room", 403)],
)
def test_post_by_role(request, client_for, offender, persona, expected):
    response = client_for(request.getfixturevalue(persona)).post(
        url(offender.pk), conviction(), format="json"
    )

    assert response.status_code == expected
    assert offender.convictions.count() == 1


def test_anonymous_is_401(api_client, offender):
    assert api_client.post(url(offender.pk), conviction(), format="json").status_code == 401


def test_unscheduled_section_is_400_on_sections(client_for, data_entry, offender):
    response = client_for(data_entry).post(
        url(offender.pk), conviction(sections=["PPC 302"]), format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == ["sections"]


def test_missing_field_is_400_on_that_field(client_for, data_entry, offender):
    data = conviction()
    del data["court"]

    response = client_for(data_entry).post(url(offender.pk), data, format="json")

    assert response.status_code == 400
    assert "court" in response.json()["fields"]


def test_duplicate_case_is_400_not_500(client_for, data_entry, offender):
    client = client_for(data_entry)
    assert client.post(url(offender.pk), conviction(), format="json").status_code == 201

    response = client.post(url(offender.pk), conviction(sentence="retyped"), format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"case_number": [CASE_ALREADY_RECORDED]}
    assert offender.convictions.count() == 2


def test_the_same_case_for_another_offender_is_fine(client_for, registry_admin, offender):
    other = register(registry_admin)
    client = client_for(registry_admin)

    assert client.post(url(offender.pk), conviction(), format="json").status_code == 201
    assert client.post(url(other.pk), conviction(), format="json").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_is_caught_by_the_constraint(data_entry, offender):
    """Officer A's addition is inserted but not yet committed when officer B adds the same
    case: B's check sees nothing, its insert waits on the unique index, and once A commits B
    gets the same 400 as a plain duplicate (not a 500, not a second row)."""
    a_inserted, release_a = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def officer_a() -> None:
        try:
            with transaction.atomic():
                conviction_add(actor=data_entry, offender_id=offender.pk, data=conviction())
                a_inserted.set()
                release_a.wait(timeout=10)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            errors.append(exc)
            a_inserted.set()
        finally:
            connection.close()

    thread = threading.Thread(target=officer_a)
    thread.start()
    a_inserted.wait(timeout=10)
    outcome: list[BaseException] = []

    def officer_b() -> None:
        try:
            conviction_add(actor=data_entry, offender_id=offender.pk, data=conviction())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            outcome.append(exc)
        finally:
            connection.close()

    second = threading.Thread(target=officer_b)
    second.start()
    b_waited = wait_until_a_backend_waits_on_a_lock()
    release_a.set()
    thread.join(timeout=20)
    second.join(timeout=20)

    assert errors == []
    assert b_waited, "officer B never waited on A's row: no race was exercised"
    assert [type(exc) for exc in outcome] == [ValidationError], outcome
    assert outcome[0].message_dict == {"case_number": [CASE_ALREADY_RECORDED]}
    assert Conviction.objects.filter(offender=offender, case_number="SC-12/2023").count() == 1
