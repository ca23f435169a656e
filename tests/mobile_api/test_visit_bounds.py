"""A visit's times are bounded to a sane range (issue 11, item 11): a fix of 1900 was accepted
and later rendered as Karachi's local mean time."""

import pytest

from tests.mobile_api.conftest import visit_body, visits_url


@pytest.mark.parametrize("name", ["fix_time", "visited_at"])
def test_a_visit_from_a_century_ago_is_refused(client_for, beat_officer, task_a1, name):
    body = visit_body(**{name: "1900-01-01T00:00:00Z"})

    response = client_for(beat_officer).post(visits_url(task_a1), body, format="json")

    assert response.status_code == 400, response.json()
    assert name in response.json()["fields"]
