"""Query counts of the device lists: pinned, and the same for one token as for many."""

from accounts.models import Officer
from accounts.services import device_revoke, device_token_issue
from tests.helpers import query_count

MANY = 15


def _issue(officer: Officer, count: int, *, start: int = 0) -> None:
    for n in range(start, start + count):
        device_token_issue(officer=officer, device_id=f"phone-{n}", device_name=f"Phone {n}")


def test_own_device_list_query_count_does_not_grow_with_rows(
    client_for, station_officer, django_assert_max_num_queries
):
    client = client_for(station_officer)
    url = "/api/v1/auth/devices/"
    _issue(station_officer, 1)
    one_row = query_count(lambda: client.get(url))

    _issue(station_officer, MANY - 1, start=1)
    # One revoked token, so revoked_by is set on a row.
    device_revoke(actor=station_officer, officer=station_officer, device_id="phone-1")
    # The page only: the caller is force-authenticated and nothing per row is looked up.
    with django_assert_max_num_queries(1) as captured:
        response = client.get(url)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == one_row, "GET /api/v1/auth/devices/ grows with its rows"


def test_officer_device_list_query_count_does_not_grow_with_rows(
    client_for, system_admin, station_officer, django_assert_max_num_queries
):
    client = client_for(system_admin)
    url = f"/api/v1/auth/officers/{station_officer.pk}/devices/"
    _issue(station_officer, 1)
    one_row = query_count(lambda: client.get(url))

    _issue(station_officer, MANY - 1, start=1)
    device_revoke(actor=system_admin, officer=station_officer, device_id="phone-1")
    # The officer managed (with its jurisdiction) and the page.
    with django_assert_max_num_queries(2) as captured:
        response = client.get(url)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == one_row, f"GET {url} grows with its rows"
