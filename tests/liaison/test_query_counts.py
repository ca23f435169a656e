"""Query counts of the liaison lists: pinned, and the same for one row as for many."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registry.services.notices import notice_file
from tests.liaison.conftest import IN_KASUR_A, offender_under_supervision


def _transfer(actor, world):
    offender = offender_under_supervision(world)
    notice_file(
        actor=actor,
        offender_id=offender.pk,
        kind="address_change",
        changed_on=timezone.localdate(),
        details={"address": {"text": "House 3", "district": "kasur", **IN_KASUR_A}},
    )


def test_handover_list_query_count_does_not_grow_with_rows(
    world, client_for, station_officer, registry_admin, django_assert_max_num_queries
):
    client = client_for(registry_admin)
    _transfer(station_officer, world)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/handovers/").status_code == 200
    for _ in range(4):
        _transfer(station_officer, world)

    # The page with its four jurisdictions joined.
    with django_assert_max_num_queries(1) as many:
        response = client.get("/api/v1/handovers/")

    assert len(response.json()["results"]) == 5
    assert len(many) == len(one)


def test_registration_ending_list_query_count_does_not_grow_with_rows(
    world, client_for, registry_admin, django_assert_max_num_queries
):
    client = client_for(registry_admin)
    today = timezone.localdate()
    offender_under_supervision(world, registration_ends_on=today)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/registration-ending/").status_code == 200
    for _ in range(4):
        offender_under_supervision(world, registration_ends_on=today)

    with django_assert_max_num_queries(1) as many:
        response = client.get("/api/v1/registration-ending/")

    assert len(response.json()["results"]) == 5
    assert len(many) == len(one)
