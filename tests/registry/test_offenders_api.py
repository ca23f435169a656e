"""/api/v1/offenders/…: wiring, permissions by role and jurisdiction, purpose and audit,
masking, the error shape, and the list's query count."""

import base64
from urllib.parse import quote

import pytest
import time_machine

from audit.models import AuditEvent
from registry.models import Offender, OffenderStatus
from tests.registry.offender_data import KASUR_A_1, LAHORE_B_1, body, register

URL = "/api/v1/offenders/"


def detail_url(offender_id: int, suffix: str = "", purpose: str = "supervision") -> str:
    tail = f"{suffix}/" if suffix else ""
    query = f"?purpose={purpose}" if purpose else ""
    return f"{URL}{offender_id}/{tail}{query}"


@pytest.fixture
def offender(world, registry_admin) -> Offender:
    """In custody, address in lahore-a (beat lahore-a-1)."""
    return register(registry_admin)


@pytest.fixture
def active(world, registry_admin) -> Offender:
    offender = register(registry_admin)
    Offender.objects.filter(pk=offender.pk).update(status=OffenderStatus.ACTIVE)
    return offender


# --- create --------------------------------------------------------------------------------


def test_data_entry_registers_and_sees_the_record_in_full(client_for, world, data_entry):
    response = client_for(data_entry).post(URL, body(cnic="3520212345671"), format="json")

    assert response.status_code == 201
    data = response.json()
    assert data["cnic"] == "35202-1234567-1"
    assert data["phone"] == "+923001234567"
    assert (data["status"], data["district"], data["station"], data["beat"]) == (
        "in_custody",
        "lahore",
        "lahore-a",
        "lahore-a-1",
    )
    assert data["address"]["station"] == "lahore-a"
    assert data["convictions"][0]["sections"] == ["PPC 376"]
    assert data["access"] == "current"
    assert {"next_checkin_due", "next_verification_due", "registration_ends_on"} <= set(data)


def test_duplicate_cnic_is_400_already_registered(client_for, world, registry_admin):
    client = client_for(registry_admin)
    client.post(URL, body(), format="json")

    response = client.post(URL, body(), format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"cnic": ["already registered"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"address": {"text": "x", "district": "lahore", "lat": "north", "lon": 74.2}},
            "address.lat",
        ),
        ({"address": {"text": "x", "district": "lahore", "lat": 95, "lon": 74.2}}, "address.lat"),
        ({"address": {"text": "x", "district": "lahore", **KASUR_A_1}}, "address.district"),
        ({"cnic": "12345"}, "cnic"),
        ({"phone": "12345"}, "phone"),
        ({"gender": "x"}, "gender"),
    ],
)
def test_bad_create_is_400_with_flat_field_keys(client_for, world, registry_admin, change, field):
    response = client_for(registry_admin).post(URL, body(**change), format="json")

    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    assert not Offender.objects.exists()


def test_conviction_errors_point_at_the_conviction(client_for, world, registry_admin):
    data = body()
    data["convictions"][0]["sections"] = ["PPC 302"]
    data["convictions"].append({"fir_number": "9/2020"})

    response = client_for(registry_admin).post(URL, data, format="json")

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert {"convictions[1].court", "convictions[1].sections"} <= set(fields)
    assert not any(key.startswith("convictions[0]") for key in fields)


def test_unscheduled_section_is_400_on_the_nested_key(client_for, world, registry_admin):
    data = body()
    data["convictions"][0]["sections"] = ["PPC 302"]

    response = client_for(registry_admin).post(URL, data, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["convictions[0].sections"]


@pytest.mark.parametrize("persona", ["station_officer", "control_room", "prison_officer"])
def test_roles_without_create_get_403(request, client_for, world, persona):
    response = client_for(request.getfixturevalue(persona)).post(URL, body(), format="json")

    assert response.status_code == 403


def test_anonymous_is_401(api_client, offender):
    assert api_client.get(detail_url(offender.pk)).status_code == 401


# --- reading: the role × jurisdiction matrix -----------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("registry_admin", 200),
        ("data_entry", 200),
        ("control_room", 200),
        ("prison_officer", 200),  # in custody, its district
        ("station_officer", 200),
        ("data_entry_elsewhere", 404),
        ("control_room_elsewhere", 404),
        ("prison_officer_elsewhere", 404),
        ("station_officer_elsewhere", 404),
        ("beat_officer", 404),  # no task for it
        ("investigating_officer", 403),
        ("district_prosecutor", 403),
        ("auditor", 403),
        ("system_admin", 403),
    ],
)
def test_detail_by_role_and_jurisdiction(request, client_for, offender, persona, expected):
    response = client_for(request.getfixturevalue(persona)).get(detail_url(offender.pk))

    assert response.status_code == expected


@pytest.mark.parametrize(
    ("persona", "cnic", "phone"),
    [
        ("registry_admin", "35202-1234567-1", "+923001234567"),
        ("data_entry", "35202-1234567-1", "+923001234567"),
        ("station_officer", "35202-*******-1", "+92300****567"),
        ("control_room", "35202-*******-1", "+92300****567"),
    ],
)
def test_cnic_and_phone_masked_unless_the_role_enters_them(
    request, client_for, world, registry_admin, persona, cnic, phone
):
    offender = register(registry_admin, cnic="35202-1234567-1")

    data = client_for(request.getfixturevalue(persona)).get(detail_url(offender.pk)).json()

    assert (data["cnic"], data["phone"]) == (cnic, phone)


def test_unknown_offender_is_404(client_for, registry_admin, world):
    assert client_for(registry_admin).get(detail_url(999999)).status_code == 404


@pytest.mark.parametrize("purpose", ["", "curiosity"])
def test_read_without_a_declared_purpose_is_400(client_for, control_room, offender, purpose):
    response = client_for(control_room).get(detail_url(offender.pk, purpose=purpose))

    assert response.status_code == 400
    assert "purpose" in response.json()["fields"]
    assert not AuditEvent.objects.filter(action="read").exists()


def test_read_is_audited_with_its_purpose(client_for, control_room, offender):
    client_for(control_room).get(detail_url(offender.pk, purpose="verification"))

    event = AuditEvent.objects.get(action="read", actor_id=control_room.pk)
    assert (event.object_type, event.object_id, event.purpose) == (
        "offender",
        str(offender.pk),
        "verification",
    )


def test_former_district_reads_history_without_the_new_whereabouts(
    client_for, world, registry_admin, control_room, offender
):
    client_for(registry_admin).patch(
        detail_url(offender.pk, purpose=""),
        {"address": {"text": "Kasur", "district": "kasur", **KASUR_A_1}},
        format="json",
    )

    response = client_for(control_room).get(detail_url(offender.pk))

    assert response.status_code == 200
    data = response.json()
    assert data["access"] == "former"
    assert data["address"] is None
    assert data["station"] is None
    assert data["phone"] is None
    # Nor where supervision went: the new district (and its dates) are the new supervisor's.
    assert data["district"] is None
    assert data["registration_ends_on"] is None
    assert data["updated_at"] is None
    assert data["full_name"] == "Imtiaz Ahmed"


# --- list and search -----------------------------------------------------------------------


def test_list_is_scoped_filtered_and_audited_as_a_search(
    client_for, world, registry_admin, control_room_elsewhere
):
    register(registry_admin)
    kasur = register(registry_admin, district="kasur", point=KASUR_A_1)
    client = client_for(control_room_elsewhere)

    response = client.get(f"{URL}?purpose=supervision&status=in_custody&tier=2")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [kasur.pk]
    event = AuditEvent.objects.get(action="search", actor_id=control_room_elsewhere.pk)
    assert event.purpose == "supervision"
    assert event.details == {"filters": ["status", "tier"], "count": 1}


def test_list_without_purpose_is_400(client_for, registry_admin, world):
    assert client_for(registry_admin).get(URL).status_code == 400


@pytest.mark.parametrize("persona", ["auditor", "investigating_officer", "system_admin"])
def test_list_for_roles_without_access_is_403(request, client_for, world, persona):
    response = client_for(request.getfixturevalue(persona)).get(f"{URL}?purpose=supervision")

    assert response.status_code == 403


def test_exact_cnic_filter(client_for, world, registry_admin, data_entry):
    wanted = register(registry_admin, cnic="35202-7654321-5")
    register(registry_admin)

    response = client_for(data_entry).get(f"{URL}?purpose=supervision&cnic=3520276543215")

    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]
    assert "7654321" not in str(list(AuditEvent.objects.values()))


def test_name_search_only_for_registry_admin(client_for, world, registry_admin, data_entry):
    wanted = register(registry_admin, full_name="Muhammad Shahid Iqbal")
    register(registry_admin, full_name="Zulfiqar Ali Bhatti")

    found = client_for(registry_admin).get(f"{URL}?purpose=investigation_support&q=Shahid")
    refused = client_for(data_entry).get(f"{URL}?purpose=investigation_support&q=Shahid")

    assert found.status_code == 200
    assert [row["id"] for row in found.json()["results"]] == [wanted.pk]
    assert refused.status_code == 403
    assert "Shahid" not in str(list(AuditEvent.objects.values()))


def test_list_query_count_does_not_grow_with_rows(
    client_for, world, registry_admin, django_assert_max_num_queries
):
    for point in (None, LAHORE_B_1, KASUR_A_1, None, LAHORE_B_1):
        register(registry_admin, point=point, district="kasur" if point == KASUR_A_1 else "lahore")
    client = client_for(registry_admin)

    # The page, its current addresses and convictions (district/station/beat joined in), and
    # the audit append (one insert, no lock): 4, whatever the rows.
    with django_assert_max_num_queries(4):
        response = client.get(f"{URL}?purpose=supervision")

    assert len(response.json()["results"]) == 5


# --- update --------------------------------------------------------------------------------


def test_patch_changes_given_fields(client_for, data_entry, offender):
    response = client_for(data_entry).patch(
        detail_url(offender.pk, purpose=""), {"full_name": "Imtiaz Ahmad"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["full_name"] == "Imtiaz Ahmad"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "bad"}, "phone"),
        ({"risk_tier": 0}, "risk_tier"),
        ({"date_of_birth": "tomorrow"}, "date_of_birth"),
        ({"address": {"text": "x", "district": "lahore", "lat": 31.2}}, "address.lat"),
    ],
)
def test_bad_patch_is_400_on_the_field(client_for, data_entry, offender, change, field):
    response = client_for(data_entry).patch(
        detail_url(offender.pk, purpose=""), change, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["fields"]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("data_entry_elsewhere", 404), ("station_officer", 403), ("control_room", 403)],
)
def test_patch_by_role(request, client_for, offender, persona, expected):
    response = client_for(request.getfixturevalue(persona)).patch(
        detail_url(offender.pk, purpose=""), {"full_name": "X"}, format="json"
    )

    assert response.status_code == expected


# --- release and transition ----------------------------------------------------------------


@time_machine.travel("2026-03-10 05:00:00+00:00", tick=False)
def test_prison_officer_releases_and_gets_the_record_back(
    client_for, world, registry_admin, prison_officer
):
    offender = register(registry_admin)

    response = client_for(prison_officer).post(
        detail_url(offender.pk, "release", purpose=""),
        {
            "released_on": "2026-03-09",
            "prison": "Camp Jail Lahore",
            "address": {"text": "House 7", "district": "lahore", **LAHORE_B_1},
        },
        format="json",
    )

    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["station"], data["next_checkin_due"]) == (
        "active",
        "lahore-b",
        "2026-04-08",
    )
    assert data["cnic"] == "35202-*******-3"


def test_release_when_not_in_custody_is_409(client_for, registry_admin, active):
    response = client_for(registry_admin).post(
        detail_url(active.pk, "release", purpose=""),
        {
            "released_on": "2026-01-01",
            "prison": "Camp Jail",
            "address": {"text": "x", "district": "lahore"},
        },
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_transition_and_invalid_transition(client_for, registry_admin, active):
    client = client_for(registry_admin)
    url = detail_url(active.pk, "transition", purpose="")

    moved = client.post(url, {"to": "absconded", "note": "not at home"}, format="json")
    again = client.post(url, {"to": "absconded", "note": "still"}, format="json")

    assert moved.status_code == 200
    assert moved.json()["status"] == "absconded"
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_removal_without_reason_is_400(client_for, registry_admin, active):
    response = client_for(registry_admin).post(
        detail_url(active.pk, "transition", purpose=""), {"to": "removed"}, format="json"
    )

    assert response.status_code == 400
    assert "reason" in response.json()["fields"]


@pytest.mark.parametrize("persona", ["station_officer", "data_entry", "prison_officer"])
def test_transition_needs_the_register(request, client_for, active, persona):
    response = client_for(request.getfixturevalue(persona)).post(
        detail_url(active.pk, "transition", purpose=""),
        {"to": "absconded", "note": "x"},
        format="json",
    )

    assert response.status_code == 403


# --- timeline and lookup -------------------------------------------------------------------


def test_timeline_is_scoped_and_audited(
    client_for, station_officer, station_officer_elsewhere, offender
):
    response = client_for(station_officer).get(detail_url(offender.pk, "timeline"))

    assert response.status_code == 200
    assert response.json()["results"][0]["kind"] in {
        "status_change",
        "address",
        "conviction",
        "supervision",
    }
    assert AuditEvent.objects.filter(action="read", purpose="supervision").exists()
    assert (
        client_for(station_officer_elsewhere).get(detail_url(offender.pk, "timeline")).status_code
        == 404
    )


def test_counter_lookup_shows_minimal_identity_and_is_audited(
    client_for, world, registry_admin, station_officer
):
    kasur = register(registry_admin, district="kasur", point=KASUR_A_1, cnic="35202-7654321-5")

    response = client_for(station_officer).post(
        f"{URL}lookup/", {"cnic": "35202-7654321-5"}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": kasur.pk,
        "full_name": "Imtiaz Ahmed",
        "father_name": "Ghulam Rasool",
        "status": "in_custody",
        "district": "kasur",
        "station": "kasur-a",
    }
    event = AuditEvent.objects.get(action="read", actor_id=station_officer.pk)
    assert event.purpose == "counter_lookup"


def test_counter_lookup_miss_is_404_and_bad_cnic_400(client_for, world, station_officer):
    client = client_for(station_officer)

    assert client.post(f"{URL}lookup/", {"cnic": "35202-0000000-1"}, format="json").status_code == (
        404
    )
    bad = client.post(f"{URL}lookup/", {"cnic": "abc"}, format="json")
    assert bad.status_code == 400
    assert "cnic" in bad.json()["fields"]


def test_counter_lookup_forbidden_to_control_room(client_for, world, control_room):
    response = client_for(control_room).post(
        f"{URL}lookup/", {"cnic": "35202-0000000-1"}, format="json"
    )
    assert response.status_code == 403


def test_counter_lookup_no_longer_takes_the_cnic_in_the_url(client_for, world, station_officer):
    # URLs end up in access logs: the CNIC travels in the body only.
    response = client_for(station_officer).get(f"{URL}lookup/?cnic=35202-0000000-1")

    assert response.status_code == 405
    assert not AuditEvent.objects.filter(actor_id=station_officer.pk).exists()


# --- search by POST (filters in the body, not the logged URL) ------------------------------

SEARCH_URL = f"{URL}search/"


def test_search_post_filters_by_cnic_in_the_body_and_is_audited_like_the_list(
    client_for, world, registry_admin, data_entry
):
    wanted = register(registry_admin, cnic="35202-7654321-5")
    register(registry_admin)

    response = client_for(data_entry).post(
        SEARCH_URL, {"purpose": "supervision", "cnic": "3520276543215"}, format="json"
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]
    event = AuditEvent.objects.get(action="search", actor_id=data_entry.pk)
    assert event.purpose == "supervision"
    assert event.details == {"filters": ["cnic"], "count": 1}
    assert "7654321" not in str(list(AuditEvent.objects.values()))


def test_search_post_scopes_and_filters_like_the_list(
    client_for, world, registry_admin, control_room_elsewhere
):
    register(registry_admin)
    kasur = register(registry_admin, district="kasur", point=KASUR_A_1)

    response = client_for(control_room_elsewhere).post(
        SEARCH_URL, {"purpose": "supervision", "status": "in_custody", "tier": 2}, format="json"
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [kasur.pk]


def test_search_post_name_search_only_for_registry_admin(
    client_for, world, registry_admin, data_entry
):
    wanted = register(registry_admin, full_name="Muhammad Shahid Iqbal")
    register(registry_admin, full_name="Zulfiqar Ali Bhatti")
    query = {"purpose": "investigation_support", "q": "Shahid"}

    found = client_for(registry_admin).post(SEARCH_URL, query, format="json")
    refused = client_for(data_entry).post(SEARCH_URL, query, format="json")

    assert found.status_code == 200
    assert [row["id"] for row in found.json()["results"]] == [wanted.pk]
    assert refused.status_code == 403
    assert "Shahid" not in str(list(AuditEvent.objects.values()))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "purpose"),
        ({"purpose": "curiosity"}, "purpose"),
        ({"purpose": "supervision", "q": "ab"}, "q"),
        ({"purpose": "supervision", "tier": 0}, "tier"),
    ],
)
def test_search_post_bad_input_is_400(client_for, world, registry_admin, query, field):
    response = client_for(registry_admin).post(SEARCH_URL, query, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not AuditEvent.objects.filter(action="search").exists()


@pytest.mark.parametrize("persona", ["auditor", "investigating_officer", "system_admin"])
def test_search_post_for_roles_without_access_is_403(request, client_for, world, persona):
    response = client_for(request.getfixturevalue(persona)).post(
        SEARCH_URL, {"purpose": "supervision"}, format="json"
    )

    assert response.status_code == 403


def test_search_post_pages_with_the_cursor_only_in_the_url(client_for, world, registry_admin):
    first_three = [register(registry_admin, full_name=f"Shahid Iqbal {n}") for n in range(3)]
    client = client_for(registry_admin)
    query = {"purpose": "supervision", "q": "Shahid Iqbal"}

    page_one = client.post(f"{SEARCH_URL}?page_size=2", query, format="json").json()
    next_url = page_one["next"]
    assert "Shahid" not in next_url
    assert "purpose" not in next_url
    page_two = client.post(next_url, query, format="json").json()

    ids = [row["id"] for row in page_one["results"] + page_two["results"]]
    assert sorted(ids) == sorted(offender.pk for offender in first_three)
    assert len(page_one["results"]) == 2
    assert page_two["next"] is None


def test_schema_builds(client_for, registry_admin):
    response = client_for(registry_admin).get("/api/schema/")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("query", "raw"),
    [
        ("purpose=supervision&q=ahmed", "p=not-a-number"),  # similarity ordering (float)
        ("purpose=supervision", "p=not-a-date"),  # created_at ordering
        ("purpose=supervision", "p=\x00"),
    ],
)
def test_list_with_a_forged_cursor_is_400_on_the_cursor_field(
    client_for, registry_admin, world, query, raw
):
    # Regression: a similarity cursor holding text was a 500 (float() ValueError).
    register(registry_admin)
    cursor = quote(base64.b64encode(raw.encode()).decode())

    response = client_for(registry_admin).get(f"{URL}?{query}&cursor={cursor}")

    assert response.status_code == 400
    assert response.json()["fields"] == {"cursor": ["Invalid cursor."]}
