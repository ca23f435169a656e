"""Query counts of the verification lists: pinned, and the same for one row as for many."""

from mobile_api.models import Visit
from mobile_api.selectors import coverage_rows
from tests.factories import VerificationTaskFactory, VisitFactory
from tests.helpers import query_count
from tests.mobile_api.conftest import IN_LAHORE_A_1, located_offender, open_task, visit_body

MANY = 15


def _tasks(world, count: int, *, photo: bool = False) -> list:
    tasks = []
    for n in range(count):
        offender = located_offender(world.lahore_a_1, IN_LAHORE_A_1)
        if photo and n % 2:
            offender.photo.name = "offenders/photos/x.jpg"
            offender.save(update_fields=["photo"])
        tasks.append(open_task(offender))
    return tasks


def test_mobile_task_list_query_count_does_not_grow_with_rows(
    client_for, world, policies, beat_officer, django_assert_max_num_queries
):
    client = client_for(beat_officer)
    _tasks(world, 1)
    one_row = query_count(lambda: client.get("/api/v1/mobile/tasks/"))
    _tasks(world, MANY - 1, photo=True)
    # The snapshot, the tasks with offender and address joined, and the audit append
    # (one insert, no lock).
    with django_assert_max_num_queries(3) as captured:
        response = client.get("/api/v1/mobile/tasks/")
    assert len(response.json()["tasks"]) == MANY
    assert len(captured) == one_row


def test_mobile_delta_sync_query_count_does_not_grow_with_rows(
    client_for, world, policies, beat_officer, django_assert_max_num_queries
):
    client = client_for(beat_officer)
    _tasks(world, 1)
    cursor = client.get("/api/v1/mobile/tasks/").json()["cursor"]
    one_row = query_count(lambda: client.get("/api/v1/mobile/tasks/", {"since": cursor}))
    _tasks(world, MANY - 1)
    with django_assert_max_num_queries(7) as captured:
        client.get("/api/v1/mobile/tasks/", {"since": cursor})
    assert len(captured) == one_row


def test_station_task_list_query_count_does_not_grow_with_rows(
    client_for, world, policies, station_officer, django_assert_max_num_queries
):
    client = client_for(station_officer)
    _tasks(world, 1)
    one_row = query_count(lambda: client.get("/api/v1/verification/tasks/"))
    _tasks(world, MANY - 1)
    with django_assert_max_num_queries(6) as captured:
        response = client.get("/api/v1/verification/tasks/")
    assert len(response.json()["results"]) == MANY
    assert len(captured) == one_row


def test_review_list_query_count_does_not_grow_with_rows(
    client_for, world, policies, beat_officer, station_officer, django_assert_max_num_queries
):
    officer = client_for(beat_officer)
    reviewer = client_for(station_officer)

    def flagged(count: int) -> None:
        for task in _tasks(world, count):
            officer.post(
                f"/api/v1/mobile/tasks/{task.pk}/visits/",
                visit_body(mock_location=True),
                format="json",
            )

    flagged(1)
    one_row = query_count(lambda: reviewer.get("/api/v1/verification/reviews/"))
    flagged(MANY - 1)
    # The page (task, beat, officer joined), its photos, and the audit append.
    with django_assert_max_num_queries(7) as captured:
        response = reviewer.get("/api/v1/verification/reviews/")
    assert len(response.json()["results"]) == MANY
    assert Visit.objects.filter(review_status="pending").count() == MANY
    assert len(captured) == one_row


def test_coverage_is_one_query_whatever_the_size(
    world, policies, beat_officer, django_assert_num_queries
):
    tasks = [
        VerificationTaskFactory(offender=located_offender(world.lahore_a_1, IN_LAHORE_A_1))
        for _ in range(MANY)
    ]
    VisitFactory(task=tasks[0], officer=beat_officer)
    with django_assert_num_queries(1):
        rows = coverage_rows(district=world.lahore)
    assert sum(row.active_offenders for row in rows) == MANY
    assert sum(row.open_tasks for row in rows) == MANY
    assert sum(row.verified_within_interval for row in rows) == 1
