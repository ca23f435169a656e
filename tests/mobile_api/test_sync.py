"""Delta sync of the beat officer's list, on real transactions (``transaction=True``): the
cursor is a PostgreSQL snapshot, which only means something across committed transactions."""

import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from mobile_api.selectors import sync_cursor_make
from mobile_api.services import tasks as task_services
from tests.mobile_api.conftest import (
    IN_LAHORE_A_1,
    located_offender,
    open_task,
    visit_body,
    visits_url,
)

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/mobile/tasks/"


def sync(client, cursor=None) -> dict:
    response = client.get(URL, {"since": cursor} if cursor else {})
    assert response.status_code == 200, response.json()
    return response.json()


def test_first_sync_returns_every_open_task_then_only_what_changed(
    world, policies, client_for, beat_officer, station_officer
):
    client = client_for(beat_officer)
    first, second, third = (
        open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1)) for _ in range(3)
    )
    other_beat = open_task(located_offender(world.lahore_a_2, (31.7, 74.2)))

    full = sync(client)
    assert full["full_sync"] is True
    assert [t["id"] for t in full["tasks"]] == sorted([first.pk, second.pk, third.pk])
    assert full["tombstones"] == []
    task = full["tasks"][0]
    assert set(task) == {
        "id",
        "version",
        "kind",
        "priority",
        "due_on",
        "overdue",
        "needs_point",
        "offender",
        "photo_url",
        "address",
        "last_visit_outcome",
        "last_visit_at",
    }
    assert set(task["offender"]) == {
        "id",
        "full_name",
        "father_name",
        "full_name_ur",
        "father_name_ur",
    }
    assert task["address"]["lat"] == IN_LAHORE_A_1[0]

    # Nothing changed: an empty delta.
    quiet = sync(client, full["cursor"])
    assert (quiet["full_sync"], quiet["tasks"], quiet["tombstones"]) == (False, [], [])

    # A visit keeps one open (new version), closes another; a third is reassigned away; a new
    # task arrives; another beat's task is reassigned here.
    client.post(visits_url(first), visit_body(outcome="not_at_home"), format="json")
    client.post(visits_url(second), visit_body(), format="json")
    task_services.task_reassign(actor=station_officer, task_id=third.pk, beat_code="lahore-a-2")
    task_services.task_reassign(
        actor=station_officer, task_id=other_beat.pk, beat_code="lahore-a-1"
    )
    fourth = open_task(located_offender(world.lahore_a_1, IN_LAHORE_A_1))

    delta = sync(client, quiet["cursor"])
    assert delta["full_sync"] is False
    assert sorted(t["id"] for t in delta["tasks"]) == sorted([first.pk, other_beat.pk, fourth.pk])
    changed_first = next(t for t in delta["tasks"] if t["id"] == first.pk)
    assert changed_first["last_visit_outcome"] == "not_at_home"
    assert changed_first["version"] > task["version"] or first.pk != task["id"]
    assert sorted(delta["tombstones"], key=lambda t: t["id"]) == sorted(
        [
            {"id": second.pk, "removed": True, "reason": "closed", "version": 2},
            {"id": third.pk, "removed": True, "reason": "reassigned", "version": 2},
        ],
        key=lambda t: t["id"],
    )

    # The new beat's officers see the reassigned task arrive; the old beat's list is right.
    assert sync(client, delta["cursor"])["tasks"] == []


def test_a_change_committed_after_a_later_sync_is_not_missed(
    world, policies, client_for, beat_officer, station_officer
):
    """The race a timestamp or sequence cursor loses: a writer that started before the sync
    commits after it. Its change must come with the next sync."""
    client = client_for(beat_officer)
    task = open_task(located_offender(world.lahore_a_2, (31.7, 74.2)))
    cursor = sync(client)["cursor"]

    written, release, errors = threading.Event(), threading.Event(), []

    def slow_writer():
        try:
            with transaction.atomic():
                task_services.task_reassign(
                    actor=station_officer, task_id=task.pk, beat_code="lahore-a-1"
                )
                written.set()
                release.wait(10)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert written.wait(10)
    during = sync(client, cursor)  # the writer has not committed yet
    release.set()
    writer.join(10)
    assert not errors, errors

    assert during["tasks"] == []
    after = sync(client, during["cursor"])
    assert [t["id"] for t in after["tasks"]] == [task.pk]


def test_a_forged_or_foreign_cursor_is_a_400_on_since(
    world, policies, client_for, beat_officer, beat_officer_elsewhere
):
    client = client_for(beat_officer)
    for bad in ("garbage", "eyJvIjoxfQ:1abc:xyz", "a" * 5000):
        response = client.get(URL, {"since": bad})
        assert response.status_code == 400, bad
        assert "since" in response.json()["fields"]
    foreign = sync(client_for(beat_officer_elsewhere))["cursor"]
    assert client.get(URL, {"since": foreign}).status_code == 400
    forged = sync_cursor_make(officer=beat_officer, snapshot="10:5:")  # signed but nonsense
    assert client.get(URL, {"since": forged}).status_code == 400


def test_a_cursor_from_another_beat_forces_a_full_sync(world, policies, client_for, beat_officer):
    client = client_for(beat_officer)
    cursor = sync(client)["cursor"]
    beat_officer.beat = world.lahore_a_2
    beat_officer.save()
    open_task(located_offender(world.lahore_a_2, (31.7, 74.2)))

    again = sync(client_for(beat_officer), cursor)
    assert again["full_sync"] is True
    assert len(again["tasks"]) == 1


def test_an_expired_cursor_is_a_400_and_the_app_syncs_in_full(
    world, policies, client_for, beat_officer, settings
):
    import time_machine

    settings.NIGRANI_SYNC_CURSOR_MAX_DAYS = 14
    client = client_for(beat_officer)
    cursor = sync(client)["cursor"]
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        response = client.get(URL, {"since": cursor})
        assert response.status_code == 400
        assert "since" in response.json()["fields"]
        assert sync(client)["full_sync"] is True
