"""The control-room page's server side: who may open it, its CSP, the counters, keep-alive and
the background requests that do not count as activity."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.middleware import BACKGROUND_HEADER, LAST_ACTIVITY_KEY
from compliance.models import Severity, Violation, ViolationKind
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory

PAGE = "/control-room/"
BACKGROUND = {"headers": {BACKGROUND_HEADER: "1"}}


@pytest.fixture
def signed_in(client):
    def _sign_in(officer):
        client.force_login(officer)
        return client

    return _sign_in


def test_signed_out_visitors_are_sent_to_the_sign_in_page(client, world):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/control-room/"


def test_a_control_room_officer_gets_the_page_with_a_strict_policy(signed_in, control_room):
    response = signed_in(control_room).get(PAGE)

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "default-src 'none'" in csp
    html = response.content.decode()
    # No inline script or style: every <script> has a src, no style attributes or blocks.
    assert html.count("<script") == html.count("<script src=")
    assert "<style" not in html
    assert " style=" not in html
    assert "controlroom/vendor/leaflet/leaflet.js" in html


@pytest.mark.parametrize("persona", ["station_officer", "beat_officer", "auditor"])
def test_other_roles_are_refused(request, signed_in, persona):
    officer = request.getfixturevalue(persona)

    assert signed_in(officer).get(PAGE).status_code == 403
    assert signed_in(officer).get(PAGE + "counters/").status_code == 403


def test_the_page_reads_answer_401_when_signed_out(client, world):
    assert client.get(PAGE + "config/").status_code == 401
    assert client.get(PAGE + "session/").json() == {"signed_in": False}


def test_a_configured_tile_server_is_allowed_for_images_only(settings, signed_in, control_room):
    settings.NIGRANI_MAP_TILE_URL = "https://{s}.tiles.example.pk/{z}/{x}/{y}.png"

    response = signed_in(control_room).get(PAGE)
    config = signed_in(control_room).get(PAGE + "config/").json()

    assert "img-src 'self' data: https://*.tiles.example.pk" in response["Content-Security-Policy"]
    assert config["tiles"]["url"] == settings.NIGRANI_MAP_TILE_URL
    assert config["district"] == {"code": "lahore", "name": "Lahore"}


def test_counters_count_the_districts_alerts(signed_in, control_room, world):
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    offender.next_checkin_due = timezone.localdate() - timedelta(days=3)
    offender.save(update_fields=["next_checkin_due"])
    raise_for(
        offender, key="a", kind=ViolationKind.ABSCONDING_SUSPECTED, severity=Severity.CRITICAL
    )
    late, _ = raise_for(offender, key="b")
    Violation.objects.filter(pk=late.pk).update(ack_due_at=timezone.now() - timedelta(minutes=1))
    elsewhere = OffenderFactory(district=world.kasur, station=world.kasur_a, beat=world.kasur_a_1)
    raise_for(elsewhere, key="c")

    counters = signed_in(control_room).get(PAGE + "counters/").json()

    assert counters["district"] == "lahore"
    assert counters["open_alerts"] == 2
    assert counters["unacknowledged"] == 2
    assert counters["overdue_alerts"] == 1  # past its acknowledgement deadline
    assert counters["overdue_checkins"] == 1
    assert counters["active_offenders"] == 1


def test_background_requests_do_not_keep_an_idle_session_alive(signed_in, control_room):
    client = signed_in(control_room)
    client.get(PAGE + "config/")
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(timezone.now().timestamp()) - 25 * 60
    session.save()

    state = client.get(PAGE + "session/", **BACKGROUND).json()
    client.get(PAGE + "counters/", **BACKGROUND)

    assert state["signed_in"] is True
    assert 4 * 60 < state["idle_seconds_left"] <= 5 * 60
    assert client.session[LAST_ACTIVITY_KEY] <= int(timezone.now().timestamp()) - 25 * 60


def test_an_interaction_keeps_it_alive(signed_in, control_room):
    client = signed_in(control_room)
    client.get(PAGE + "config/")
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(timezone.now().timestamp()) - 25 * 60
    session.save()

    response = client.post(PAGE + "keepalive/")

    assert response.json()["idle_seconds_left"] == 30 * 60


def test_after_the_idle_timeout_even_a_background_request_signs_out(signed_in, control_room):
    client = signed_in(control_room)
    client.get(PAGE + "config/")
    session = client.session
    session[LAST_ACTIVITY_KEY] = int(timezone.now().timestamp()) - 31 * 60
    session.save()

    assert client.get(PAGE + "session/", **BACKGROUND).json() == {"signed_in": False}
    assert client.get(PAGE).status_code == 302


def test_vendored_leaflet_is_served_by_whitenoise(client):
    response = client.get("/static/controlroom/vendor/leaflet/leaflet.js")

    assert response.status_code == 200
    assert b"Leaflet 1.9.4" in b"".join(response.streaming_content)


def test_a_control_room_watches_its_own_district_only(signed_in, control_room):
    client = signed_in(control_room)

    config = client.get(PAGE + "config/").json()
    refused = client.get(PAGE + "config/", {"district": "kasur"})

    assert config["district"] == {"code": "lahore", "name": "Lahore"}
    assert config["districts"] == [{"code": "lahore", "name": "Lahore"}]  # no picker
    assert client.get(PAGE + "config/", {"district": "lahore"}).status_code == 200
    assert refused.status_code == 404
    assert refused.json()["fields"] == {"district": ["not found"]}
    assert client.get(PAGE + "counters/", {"district": "kasur"}).status_code == 404


def test_the_national_desk_picks_the_district_it_watches(signed_in, registry_admin, world):
    kasur_offender = OffenderFactory(
        district=world.kasur, station=world.kasur_a, beat=world.kasur_a_1
    )
    lahore_offender = OffenderFactory(
        district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1
    )
    raise_for(kasur_offender, key="k")
    raise_for(lahore_offender, key="l1")
    raise_for(lahore_offender, key="l2", kind=ViolationKind.ABSCONDING_SUSPECTED)
    client = signed_in(registry_admin)

    assert client.get(PAGE).status_code == 200
    first = client.get(PAGE + "config/").json()
    kasur = client.get(PAGE + "config/", {"district": "kasur"}).json()
    counters = client.get(PAGE + "counters/", {"district": "kasur"}).json()

    names = [d["name"] for d in first["districts"]]
    assert names == sorted(names)
    assert {"kasur", "lahore"} <= {d["code"] for d in first["districts"]}
    assert first["district"] == first["districts"][0]  # none named: the first by name
    assert kasur["district"]["code"] == "kasur"
    assert counters["district"] == "kasur"
    assert counters["open_alerts"] == 1
    assert client.get(PAGE + "counters/", {"district": "lahore"}).json()["open_alerts"] == 2
    assert client.get(PAGE + "config/", {"district": "atlantis"}).status_code == 404
