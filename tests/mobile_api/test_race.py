"""Two identical visit requests at once, each in its own connection and transaction, on real
PostgreSQL: one visit row, and both answers are the first answer."""

import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from audit.models import AuditEvent
from mobile_api.models import Visit
from tests.mobile_api.conftest import IN_LAHORE_A_1, located_offender, open_task, visit_body

pytestmark = pytest.mark.django_db(transaction=True)


def _race(officer, requests: list[tuple[str, dict]]) -> list:
    """POST each (path, body) as ``officer`` from its own thread and connection, released at
    the same moment; the answers in order. A thread's exception fails the test."""
    start = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)
    errors: list[BaseException] = []

    def post(slot: int) -> None:
        try:
            client = APIClient()
            client.force_authenticate(officer)
            path, body = requests[slot]
            start.wait()
            answers[slot] = client.post(path, body, format="json")
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(slot,)) for slot in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return answers


@pytest.mark.parametrize("outcome", ["confirmed", "moved"])
def test_two_identical_requests_racing_store_one_visit(world, policies, beat_officer, outcome):
    task = open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1))
    body = visit_body(outcome=outcome)
    path = f"/api/v1/mobile/tasks/{task.pk}/visits/"
    answers = _race(beat_officer, [(path, body), (path, body)])
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert Visit.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="visit", action="create").count() == 1
    replayed = [a.get("Idempotent-Replayed") for a in answers]
    assert sorted(replayed, key=str) == [None, "true"] or replayed.count("true") == 1


def test_two_different_visits_racing_on_one_task_one_closes_it(world, policies, beat_officer):
    """Two phones of the beat send a confirmed visit of one task at once: the task's row lock
    makes the second wait, see the task closed and get 409; without it both would count."""
    task = open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1))
    path = f"/api/v1/mobile/tasks/{task.pk}/visits/"
    answers = _race(beat_officer, [(path, visit_body()), (path, visit_body())])  # two client_ids
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert Visit.objects.filter(task=task).count() == 1


def test_one_client_id_racing_on_two_tasks_is_stored_once(world, policies, beat_officer):
    """A phone bug sends one client_id for two tasks at once: the two task locks do not
    serialise them, so the unique constraint on ``client_id`` is what keeps one visit (the
    other is 409 ``client_id_reused``)."""
    tasks = [open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1)) for _ in range(2)]
    body = visit_body()
    answers = _race(
        beat_officer, [(f"/api/v1/mobile/tasks/{task.pk}/visits/", body) for task in tasks]
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert Visit.objects.count() == 1
