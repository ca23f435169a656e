"""Query counts of the register's lists (offenders, the offender search, an offender's notices
and timeline): pinned, and the same for one row as for many."""

from datetime import timedelta

import pytest
from django.utils import timezone

from registry.services.notices import notice_acknowledge, notice_file
from registry.services.offenders import conviction_add
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory
from tests.helpers import query_count
from tests.registry.offender_data import BODY, KASUR_A_1, LAHORE_A_2, LAHORE_B_1, register

MANY = 15


def _register(actor, count: int) -> None:
    points = (None, LAHORE_B_1, KASUR_A_1, LAHORE_A_2)
    for n in range(count):
        point = points[n % len(points)]
        register(actor, point=point, district="kasur" if point == KASUR_A_1 else "lahore")


def test_offender_list_query_count_does_not_grow_with_rows(
    client_for, world, registry_admin, django_assert_max_num_queries
):
    client = client_for(registry_admin)
    url = "/api/v1/offenders/?purpose=supervision"
    _register(registry_admin, 1)
    one_row = query_count(lambda: client.get(url))

    _register(registry_admin, MANY - 1)
    # The page, its current addresses and convictions (district/station/beat joined in), and
    # the audit append (one insert, no lock).
    with django_assert_max_num_queries(4) as captured:
        response = client.get(url)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == one_row, f"GET {url} grows with its rows"


def test_offender_search_query_count_does_not_grow_with_rows(
    client_for, world, registry_admin, django_assert_max_num_queries
):
    client = client_for(registry_admin)
    url = "/api/v1/offenders/search/"
    query = {"purpose": "supervision", "status": "in_custody"}
    _register(registry_admin, 1)
    one_row = query_count(lambda: client.post(url, query, format="json"))

    _register(registry_admin, MANY - 1)
    # As the list: the page, its addresses and convictions, and the audit append.
    with django_assert_max_num_queries(8) as captured:
        response = client.post(url, query, format="json")

    assert len(response.json()["results"]) == MANY
    assert len(captured) == one_row, f"POST {url} grows with its rows"


def _travel(actor, offender, count: int, *, start: int = 0) -> None:
    today = timezone.localdate()
    for n in range(start, start + count):
        notice = notice_file(
            actor=actor,
            offender_id=offender.pk,
            kind="domestic_travel",
            destination_district="kasur",
            departure_date=today + timedelta(days=10 + 3 * n),
            return_date=today + timedelta(days=11 + 3 * n),
            purpose="visiting relatives",
        )
        if n % 2:
            # acknowledged_by set on some rows.
            notice_acknowledge(actor=actor, notice_id=notice.pk)


@pytest.mark.usefixtures("deadlines")
def test_offender_notice_list_query_count_does_not_grow_with_rows(
    client_for,
    world,
    station_officer,
    django_assert_max_num_queries,
):
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    client = client_for(station_officer)
    url = f"/api/v1/offenders/{offender.pk}/notices/"
    _travel(station_officer, offender, 1)
    one_row = query_count(lambda: client.get(url))

    _travel(station_officer, offender, MANY - 1, start=1)
    # The offender's visibility, the page (officers, station and destination joined in), and
    # the audit append (one insert, no lock).
    with django_assert_max_num_queries(3) as captured:
        response = client.get(url)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == one_row, f"GET {url} grows with its rows"


def _history(actor, offender, count: int, *, start: int = 0) -> None:
    """``count`` each of convictions, travel notices and violations."""
    conviction = BODY["convictions"][0]
    for n in range(start, start + count):
        conviction_add(
            actor=actor,
            offender_id=offender.pk,
            data={**conviction, "case_number": f"SC-{n}/2022", "fir_number": f"{n}/2022"},
        )
        raise_for(offender, key=f"qc-{n}")
    _travel(actor, offender, count, start=start)


@pytest.mark.usefixtures("deadlines")
def test_offender_timeline_query_count_does_not_grow_with_rows(
    client_for,
    world,
    registry_admin,
    django_assert_max_num_queries,
):
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    client = client_for(registry_admin)
    url = f"/api/v1/offenders/{offender.pk}/timeline/?purpose=supervision"
    _history(registry_admin, offender, 1)
    one_row = query_count(lambda: client.get(url))

    _history(registry_admin, offender, MANY - 1, start=1)
    # The record with its address and convictions (access check), one query per source of
    # entries (status changes, addresses, supervision, convictions, notices, violations, and the
    # hooks of mobile_api (visits) and checkins (check-ins, missed periods)), and the audit
    # append (one insert, no lock).
    with django_assert_max_num_queries(13) as captured:
        response = client.get(url)

    assert len(response.json()["results"]) >= 3 * MANY
    assert len(captured) == one_row, f"GET {url} grows with its rows"
