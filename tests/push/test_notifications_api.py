"""The caller's own notices: listed newest first, marked read; nobody sees another's."""

from push import services
from tests.push.conftest import URL, notify


def test_officer_lists_own_notices_newest_first(client_for, station_officer, control_room):
    mine = notify(station_officer, 3)
    notify(control_room, 2)

    response = client_for(station_officer).get(URL)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [n.pk for n in reversed(mine)]
    assert results[0] == {
        "id": mine[2].pk,
        "kind": "checkin_locked",
        "text": "An OTP challenge locked (2).",
        "object_type": "checkin_challenge",
        "object_id": "2",
        "created_at": results[0]["created_at"],
        "read_at": None,
    }


def test_list_is_cursor_paginated(client_for, station_officer):
    notify(station_officer, 5)
    client = client_for(station_officer)

    first = client.get(URL, {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 2
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}


def test_unread_filter(client_for, station_officer):
    read, unread = notify(station_officer, 2)
    services.notification_mark_read(actor=station_officer, notification_id=read.pk)
    client = client_for(station_officer)

    assert [r["id"] for r in client.get(URL, {"unread": "true"}).json()["results"]] == [unread.pk]
    assert [r["id"] for r in client.get(URL, {"unread": "false"}).json()["results"]] == [read.pk]


def test_bad_filter_is_a_field_error(client_for, station_officer):
    response = client_for(station_officer).get(URL, {"unread": "perhaps"})
    assert response.status_code == 400
    assert "unread" in response.json()["fields"]


def test_mark_read_is_idempotent(client_for, station_officer):
    (notice,) = notify(station_officer)
    client = client_for(station_officer)

    first = client.post(f"{URL}{notice.pk}/read/")
    second = client.post(f"{URL}{notice.pk}/read/")

    assert first.status_code == 200
    assert first.json()["read_at"] is not None
    assert second.json()["read_at"] == first.json()["read_at"]


def test_another_officers_notice_is_not_found(client_for, station_officer, control_room):
    (notice,) = notify(control_room)

    response = client_for(station_officer).post(f"{URL}{notice.pk}/read/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    notice.refresh_from_db()
    assert notice.read_at is None


def test_anonymous_is_401(api_client, db):
    assert api_client.get(URL).status_code == 401
    assert api_client.post(f"{URL}1/read/").status_code == 401
