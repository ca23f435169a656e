"""Query count of the audit trail list: pinned, and the same for one event as for many."""

from audit.models import AuditAction
from audit.services import audit_record
from tests.helpers import query_count

URL = "/api/v1/audit/events/?object_type=offender"
MANY = 15


def _record(actors: list, count: int) -> None:
    for n in range(count):
        audit_record(
            actor=actors[n % len(actors)],
            action=AuditAction.READ,
            object_type="offender",
            object_id=n,
            purpose="supervision",
            details={"view": "detail"},
        )


def test_event_list_query_count_does_not_grow_with_rows(
    client_for, auditor, registry_admin, station_officer, django_assert_max_num_queries
):
    client = client_for(auditor)
    actors = [registry_admin, station_officer, None]
    _record(actors, 1)
    one_row = query_count(lambda: client.get(URL))

    _record(actors, MANY - 1)
    # The page, and the audit append of the read itself (one insert, no lock).
    with django_assert_max_num_queries(2) as captured:
        response = client.get(URL)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == one_row, f"GET {URL} grows with its rows"
