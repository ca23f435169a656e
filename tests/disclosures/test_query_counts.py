"""The records-request list: query count pinned, the same for one row as for many, for each
role on the path."""

import pytest

from audit.models import AuditEvent
from disclosures.services import requests as services
from tests.disclosures.conftest import file_request
from tests.helpers import query_count

pytestmark = pytest.mark.django_db

MANY = 15
URL = "/api/v1/records-requests/"


def _count(client) -> tuple[int, int]:
    """Queries of one list request, and how many rows it showed (the ids its audit names)."""
    queries = query_count(lambda: client.get(URL))
    shown = AuditEvent.objects.filter(purpose="records_request_list").latest("id")
    return queries, len(shown.details["ids"])


@pytest.mark.parametrize(
    "persona", ["investigating_officer", "district_prosecutor", "registry_admin"]
)
def test_list_query_count_does_not_grow_with_rows(
    request, client_for, investigating_officer, district_prosecutor, persona
):
    client = client_for(request.getfixturevalue(persona))

    def _add(n: int) -> None:
        for _ in range(n):
            made = file_request(investigating_officer)
            services.records_request_forward(
                actor=district_prosecutor, request_id=made.pk, suspect_named_in_fir=True
            )

    _add(1)
    one_row, rows = _count(client)
    assert rows == 1
    _add(MANY - 1)
    many, rows = _count(client)
    assert rows == MANY
    # The page (officer, station, district joined) and the audit append (5 statements).
    assert many == one_row <= 7
