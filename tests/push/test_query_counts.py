"""Query count of the notification list: pinned, and the same for one notice as for many."""

from tests.helpers import query_count
from tests.push.conftest import URL, notify


def test_list_query_count_does_not_grow_with_rows(
    client_for, station_officer, django_assert_max_num_queries
):
    client = client_for(station_officer)
    notify(station_officer)
    one = query_count(lambda: client.get(URL))
    notify(station_officer, 14)

    # The page only: notices carry no relation to join.
    with django_assert_max_num_queries(1) as many:
        response = client.get(URL)

    assert len(response.json()["results"]) == 15
    assert len(many) == one
