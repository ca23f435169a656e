"""The control-room page end to end in real headless Chromium (Debian's, through Playwright).

A uvicorn process serves the real ASGI app (HTTP and websockets) on a free port against the
test database and a real Redis channel layer; the test signs in with password + TOTP, watches
an alert raised by a tracking device's pings (the ping API of that server) appear without a
reload, acknowledges it and sees its countdown stop, assigns it to a station officer through
the picker, sees an escalation arrive when another alert's acknowledgement deadline passes
(the deadline moved into the past in the database, then the real escalation sweep job), sees
the socket come back after a server restart, switches to Urdu, then lets the idle clock run out
(the page's clock fast-forwarded, the session's last activity moved back on the server) and
sees the warning, the keep-alive and the plain sign-out. Last, the national desk (a registry
admin) picks a district and the list, the counters, the map and the socket follow it in place
(no reload), and back again. Screenshots go to
``var/test-artifacts/``.

One test on purpose: the server, the browser and the sign-in are the expensive part. A second
one has a server of its own on a private Valkey, which it stops under the open page: the
"live feed interrupted" banner (English, Urdu), an alert within seconds, the banner gone after.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.utils import timezone

from accounts import totp
from accounts.middleware import LAST_ACTIVITY_KEY
from accounts.models import TOTPDevice
from compliance.jobs import sweep_escalations
from compliance.models import Severity, Violation, ViolationKind, ViolationStatus
from geofence.services.devices import tracking_device_enrol
from geofence.services.zones import ZoneInput, zone_create
from push.models import Notification
from tests.compliance.conftest import raise_for
from tests.conftest import PASSWORD
from tests.factories import OffenderFactory
from tests.helpers import database_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM = os.environ.get("NIGRANI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 10_000
SCHOOL = (74.22, 31.31)  # an exclusion zone in Lahore, station lahore-a


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """REDIS_URL's Redis when set, else make run's embedded Valkey: the test process and the
    server must share a real channel layer (never in-memory, never skipped)."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    sys.path.insert(0, str(ROOT / "scripts"))
    import embedded_redis

    proc, url = embedded_redis.start()
    yield url
    proc.terminate()
    proc.wait()


@pytest.fixture
def redis_layer(settings, redis_url):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn with the ASGI app on a free port, against this test's database; ``restart``
    stops it and starts it again on the same port (a page's socket must reconnect)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "backend.asgi:application"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--log-level", "warning", "--no-access-log"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
            _wait_for_server_sessions_to_end()


@pytest.fixture
def asgi_server(redis_layer, redis_url, transactional_db) -> Iterator[LiveServer]:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "backend.settings_test",
        "NIGRANI_DEV": "1",
    }
    server = LiveServer(env)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _wait_for_server_sessions_to_end() -> None:
    """PostgreSQL notices the server's connections closing a moment after it exits; the test
    database is dropped at the end of the run, which needs them gone."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the test's own ORM
    # calls stay synchronous, so Django's async-safety guard is lifted for this process only
    # (the server runs without it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: make test installs it"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _fresh_code(secret: str) -> str:
    """A code not about to roll over (the login form may take a moment)."""
    now = time.time()
    if 30 - now % 30 < 3:
        time.sleep(30 - now % 30 + 0.1)
    return totp.code_at_step(secret, totp.time_step(time.time()))


def test_a_control_room_watches_acknowledges_and_is_signed_out(
    asgi_server, browser, control_room, station_officer, registry_admin, world
):
    from django.db import connections

    try:
        _scenario(asgi_server, browser, control_room, station_officer, world)
        _national_desk(asgi_server, browser, registry_admin, world)
    finally:
        # Under Playwright's running loop the ORM's connection is per context, not the
        # thread's: close it here, or the test database could not be dropped at the end.
        connections.close_all()


def _sign_in(page, url: str, officer) -> None:
    """The web sign-in with password + TOTP, from the page that sent us there."""
    secret = totp.new_secret()
    TOTPDevice.objects.create(officer=officer, secret=secret, confirmed_at=timezone.now())
    page.goto(url + "/control-room/")
    assert page.url.startswith(url + "/accounts/login/")
    page.fill("input[name=username]", officer.username)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=otp]", _fresh_code(secret))


def _ping_inside(url: str, credential: str, point: tuple[float, float]) -> None:
    """Three fixes a second apart at ``point``, just now, through the device's ping API."""
    now = timezone.now()
    batch = [
        {
            "device_seq": n + 1,
            "recorded_at": (now - timedelta(seconds=3 - n)).isoformat(),
            "lon": point[0],
            "lat": point[1],
            "accuracy_m": 10.0,
        }
        for n in range(3)
    ]
    headers = {"Authorization": f"Device {credential}"}
    response = httpx.post(url + "/api/v1/pings/", json=batch, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 3


def _scenario(live_server, browser, control_room, station_officer, world) -> None:
    from playwright.sync_api import expect

    live_server_url = live_server.url
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    zone_create(
        actor=control_room,
        data=ZoneInput(
            name="Girls' school",
            kind="exclusion",
            category="school",
            geometry={"type": "Point", "coordinates": list(SCHOOL)},
            radius_m=200,
        ),
    )
    credential = tracking_device_enrol(
        actor=station_officer, offender_id=offender.pk, kind="phone", serial="PHONE-E2E"
    ).credential
    other = OffenderFactory(district=world.lahore, station=world.lahore_b, beat=world.lahore_b_1)
    _in_thread(raise_for, other, key="seen", lon=74.72, lat=31.62, summary="no check-in at B")
    _in_thread(
        raise_for,
        other,
        key="tag",
        kind=ViolationKind.TAG_OFFLINE,
        severity=Severity.HIGH,
        lon=74.61,
        lat=31.21,
        summary="tag silent 40 min",
    )

    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="en-GB")
    context.clock.install()
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sockets: list[str] = []
    page_sockets = sockets
    foreign: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(live_server_url) else foreign.append(r.url),
    )

    # Sign in: the page sends us to the web sign-in, which brings us back.
    _sign_in(page, live_server_url, control_room)
    with page.expect_response(lambda r: r.url.endswith("/control-room/")) as first:
        page.click("button[type=submit]")
    assert "script-src 'self'" in first.value.headers["content-security-policy"]
    problems.clear()  # from here on: the control-room page only (the sign-in page has no icon)
    expect(page.locator("#cr-link")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    expect(page.locator("#cr-list .cr-row")).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("#cr-district")).to_have_text("Lahore")
    expect(page.locator(".leaflet-overlay-pane path.cr-district-own")).to_have_count(1)
    expect(page.locator("#cr-district-pick")).to_be_hidden()  # a control room has one district
    page.evaluate("window.__noReload = true")

    # The offender's phone pings from inside the school's zone: the alert the server raises
    # appears without a reload, counting down.
    _ping_inside(live_server_url, credential, SCHOOL)
    alert = Violation.objects.get(kind=ViolationKind.EXCLUSION_ZONE, offender=offender)
    row = page.locator(f"#alert-{alert.pk}")
    expect(row).to_be_visible(timeout=WAIT_MS)
    ack = row.locator(".cr-ack")
    expect(ack).to_have_attribute("data-state", "running")
    expect(ack).to_contain_text(re.compile(r"due in (9|10):"))  # high: 10 minutes
    expect(row.locator(".cr-step")).to_have_text("Step 1")
    expect(row.locator(".cr-kind")).to_have_text("Exclusion zone entered")
    expect(page.locator("#c-open_alerts")).to_have_text("3", timeout=WAIT_MS)

    # Acknowledge: the countdown stops, the server agrees, no reload happened.
    row.locator("button[data-action=acknowledge]").click()
    expect(ack).to_have_attribute("data-state", "stopped", timeout=WAIT_MS)
    expect(ack.locator(".cr-ack-label")).to_have_text("Acknowledged")
    expect(ack).not_to_contain_text("due in")
    alert.refresh_from_db()
    assert alert.status == ViolationStatus.ACKNOWLEDGED
    assert alert.status_changed_by_id == control_room.pk
    assert page.evaluate("window.__noReload") is True
    expect(row.locator("button[data-action=acknowledge]")).to_have_count(0)

    # Assign it to the station's officer through the picker (the server's list of officers
    # who may take it): the row says so, the officer is told (in-app, and pushed).
    row.locator("button[data-action=assign]").click()
    picker = row.locator("select.cr-assign-select")
    expect(picker.locator(f"option[value='{station_officer.pk}']")).to_have_count(
        1, timeout=WAIT_MS
    )
    expect(picker.locator(f"option[value='{control_room.pk}']")).to_contain_text("Me")
    picker.select_option(str(station_officer.pk))
    row.locator("form.cr-assign button[type=submit]").click()
    expect(row.locator(".cr-assignee")).to_have_text(station_officer.username, timeout=WAIT_MS)
    expect(row.locator("form.cr-assign")).to_have_count(0)
    alert.refresh_from_db()
    assert alert.assigned_to_id == station_officer.pk
    assert Notification.objects.filter(
        officer=station_officer, kind="alert_assigned", object_id=alert.pk
    ).exists()

    # Another alert's acknowledgement deadline passes (moved into the past in the database,
    # nothing on the page touched); the real escalation sweep job climbs it one step, and the
    # page shows the new step and the step's fresh deadline without a reload.
    tag = Violation.objects.get(cause_key="tag")
    tag_row = page.locator(f"#alert-{tag.pk}")
    expect(tag_row.locator(".cr-step")).to_have_text("Step 1")
    Violation.objects.filter(pk=tag.pk).update(ack_due_at=timezone.now() - timedelta(seconds=1))
    assert _in_thread(sweep_escalations, int(time.time()))["escalated"] == 1
    expect(tag_row.locator(".cr-step")).to_have_text("Step 2", timeout=WAIT_MS)
    expect(tag_row.locator(".cr-ack")).to_contain_text(re.compile(r"due in (9|10):"))
    expect(page.locator("#c-escalated")).to_have_text("1", timeout=WAIT_MS)
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=str(_artifact("control-room.png")))

    # Resolve another with a reason: it leaves the list.
    seen = Violation.objects.get(cause_key="seen")
    seen_row = page.locator(f"#alert-{seen.pk}")
    seen_row.locator("button[data-action=resolve]").click()
    seen_row.locator("input[name=reason]").fill("officer found him at home")
    seen_row.locator("form button[type=submit]").click()
    expect(seen_row).to_have_count(0, timeout=WAIT_MS)
    seen.refresh_from_db()
    assert seen.status == ViolationStatus.RESOLVED

    # The server goes away and comes back: the page reconnects with its last sequence and
    # gets the alert raised meanwhile (from the database backlog), once.
    page.on("websocket", lambda ws: page_sockets.append(ws.url))
    live_server.stop()
    expect(page.locator("#cr-link")).to_have_attribute("data-state", "down", timeout=WAIT_MS)
    missed, _ = _in_thread(
        raise_for,
        offender,
        key="missed",
        severity=Severity.HIGH,
        lon=74.1,
        lat=31.8,
        summary="raised while the page was disconnected",
    )
    live_server.start()
    # The page's reconnect backoff (doubling, at most 30 s) has grown while the server was
    # down: let its clock run to the next attempt rather than wait for it.
    page.clock.fast_forward("00:30")
    expect(page.locator(f"#alert-{missed.pk}")).to_have_count(1, timeout=15_000)
    expect(page.locator("#cr-link")).to_have_attribute("data-state", "live")
    assert len(sockets) == 1, sockets
    assert "&after=" in sockets[0]
    outage = [p for p in problems if "ERR_CONNECTION_REFUSED" in p or "WebSocket" in p]
    assert outage == problems, problems  # only the outage itself was logged
    problems.clear()

    # Urdu: labels and right-to-left.
    page.click("#cr-lang-ur")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(ack.locator(".cr-ack-label")).to_have_text("تسلیم شدہ")
    expect(page.locator(".cr-head")).to_contain_text("سنگینی")
    expect(row.locator(".cr-kind")).to_have_text("ممنوعہ علاقے میں داخلہ")
    page.screenshot(path=str(_artifact("control-room-ur.png")))
    page.click("#cr-lang-en")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")

    # Idle: the warning comes two minutes before the sign-out; an interaction keeps it alive.
    session_key = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
    page.clock.fast_forward("28:30")
    expect(page.locator("#cr-idle")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#cr-idle-text")).to_contain_text("You will be signed out in 1:")
    _set_last_activity(session_key, seconds_ago=28 * 60)
    with page.expect_response(lambda r: r.url.endswith("/control-room/keepalive/")):
        page.mouse.move(400, 400)
        page.mouse.move(420, 430)
    expect(page.locator("#cr-idle")).to_be_hidden(timeout=WAIT_MS)
    assert _last_activity_age(session_key) < 30

    assert problems == [], problems  # no CSP violation, no script error so far

    # Nobody touches it for 31 minutes (moved back on the server too): signed out, plainly.
    # A background request may meet the expired session first: a 401 it then handles.
    _set_last_activity(session_key, seconds_ago=31 * 60)
    page.clock.fast_forward("31:00")
    expect(page.locator("#cr-signedout")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#cr-signedout-text")).to_contain_text(
        "signed out after 30 minutes without activity"
    )
    expect(page.locator("#cr-list .cr-row")).to_have_count(0)
    assert not SessionStore().exists(session_key)

    assert [p for p in problems if "status of 401" not in p] == [], problems
    assert foreign == [], foreign  # nothing fetched from anywhere but the server
    context.close()


def _national_desk(live_server, browser, registry_admin, world) -> None:
    """A registry admin (national) picks the district it watches: the list, the counters, the
    map and the socket follow the choice in place, without reloading the page."""
    from playwright.sync_api import expect

    kasur_offender = OffenderFactory(
        district=world.kasur, station=world.kasur_a, beat=world.kasur_a_1
    )
    in_kasur, _ = _in_thread(raise_for, kasur_offender, key="kasur", lon=74.5, lat=30.5)
    lahore_open = Violation.objects.filter(
        district=world.lahore,
        episode__isnull=True,
        status__in=[ViolationStatus.OPEN, ViolationStatus.ACKNOWLEDGED],
    ).count()

    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    _sign_in(page, live_server.url, registry_admin)
    page.click("button[type=submit]")
    picker = page.locator("#cr-district-picker")
    expect(picker).to_be_visible(timeout=WAIT_MS)
    expect(picker).to_have_value("kasur")  # none chosen yet: the first by name
    expect(page.locator("#cr-link")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    expect(page.locator("#cr-list .cr-row")).to_have_count(1, timeout=WAIT_MS)
    expect(page.locator(f"#alert-{in_kasur.pk}")).to_be_visible()
    expect(page.locator("#c-open_alerts")).to_have_text("1", timeout=WAIT_MS)

    expect(page.locator(".leaflet-overlay-pane path.cr-district-own")).to_have_count(1)
    page.evaluate("window.__noReload = true")

    # The switch happens in place: no page load, the address follows (a reload stays there).
    picker.select_option("lahore")
    expect(page).to_have_url(re.compile(r"/control-room/\?district=lahore$"), timeout=WAIT_MS)
    expect(page.locator("#cr-link")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    expect(page.locator("#cr-list .cr-row")).to_have_count(lahore_open, timeout=WAIT_MS)
    expect(page.locator(f"#alert-{in_kasur.pk}")).to_have_count(0)
    expect(page.locator("#c-open_alerts")).to_have_text(str(lahore_open), timeout=WAIT_MS)
    # Kasur's outlines and stations made way for Lahore's: one district stands out.
    expect(page.locator(".leaflet-overlay-pane path.cr-district-own")).to_have_count(1)
    assert page.evaluate("window.__noReload") is True
    # The socket is Lahore's now, and Kasur's is closed: an alert raised in Lahore arrives
    # live, one raised in Kasur just before it does not.
    elsewhere, _ = _in_thread(
        raise_for, kasur_offender, key="kasur-after-switch", kind=ViolationKind.TAG_OFFLINE
    )
    lahore_offender = OffenderFactory(
        district=world.lahore, station=world.lahore_b, beat=world.lahore_b_1
    )
    fresh, _ = _in_thread(
        raise_for, lahore_offender, key="desk", kind=ViolationKind.ABSCONDING_SUSPECTED
    )
    expect(page.locator(f"#alert-{fresh.pk}")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(f"#alert-{elsewhere.pk}")).to_have_count(0)
    expect(page.locator("#cr-list .cr-row")).to_have_count(lahore_open + 1)
    assert page.evaluate("window.__noReload") is True
    page.screenshot(path=str(_artifact("control-room-national.png")))

    # And back: Kasur's list again, with the alert raised while Lahore was watched.
    picker.select_option("kasur")
    expect(page).to_have_url(re.compile(r"/control-room/\?district=kasur$"), timeout=WAIT_MS)
    expect(page.locator(f"#alert-{elsewhere.pk}")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(f"#alert-{fresh.pk}")).to_have_count(0)
    expect(page.locator("#cr-link")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    assert page.evaluate("window.__noReload") is True
    assert problems == [], problems
    context.close()


def _in_thread(fn, *args, **kwargs):
    """Run a write whose after-commit broadcast uses ``async_to_sync`` in a thread of its own:
    this one has Playwright's event loop. In the real app the raise comes from a request or a
    job, never from a thread with a loop."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    def run():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


def _set_last_activity(session_key: str, *, seconds_ago: int) -> None:
    session = SessionStore(session_key=session_key)
    session[LAST_ACTIVITY_KEY] = int(timezone.now().timestamp()) - seconds_ago
    session.save()


def _last_activity_age(session_key: str) -> int:
    session = SessionStore(session_key=session_key)
    return int(timezone.now().timestamp()) - session[LAST_ACTIVITY_KEY]


PROBE_S = 0.5


@pytest.fixture
def outage_server(settings, transactional_db) -> Iterator[tuple[LiveServer, object]]:
    """uvicorn on a private embedded Valkey that the test stops and starts again (the shared
    Redis is never touched); this process's layer on it too, so its raises publish there. The
    periodic catch-up at its 60 s maximum: only the fast catch-up can explain a quick alert."""
    from channels.layers import channel_layers

    sys.path.insert(0, str(ROOT / "scripts"))
    import embedded_redis

    proc, url = embedded_redis.start()
    valkey = {"proc": proc, "port": int(url.rsplit(":", 1)[1].split("/")[0])}
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url]},
        }
    }
    channel_layers.backends.clear()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": database_url(),
        "REDIS_URL": url,
        "DJANGO_SETTINGS_MODULE": "backend.settings_test",
        "NIGRANI_DEV": "1",
        "NIGRANI_WS_LAYER_PROBE_SECONDS": str(PROBE_S),
        "NIGRANI_WS_RECHECK_SECONDS": "60",
    }
    server = LiveServer(env)
    try:
        server.start()
        yield server, valkey
    finally:
        server.stop()
        if valkey["proc"] is not None:
            valkey["proc"].terminate()
            valkey["proc"].wait()
        channel_layers.backends.clear()


def test_a_redis_outage_shows_a_banner_and_alerts_still_arrive(
    outage_server, browser, control_room, world
):
    """Redis stops under the open page: a plain banner (English, then Urdu right to left)
    says the live feed is interrupted, an alert raised meanwhile still appears within
    seconds, and the banner goes once Redis is back."""
    import embedded_redis
    from django.db import connections
    from playwright.sync_api import expect

    server, valkey = outage_server
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1)
    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        _sign_in(page, server.url, control_room)
        page.click("button[type=submit]")
        link, banner = page.locator("#cr-link"), page.locator("#cr-degraded")
        expect(link).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        expect(banner).to_be_hidden()

        valkey["proc"].terminate()
        valkey["proc"].wait()
        valkey["proc"] = None
        expect(banner).to_be_visible(timeout=4_000)
        expect(banner).to_contain_text("interrupted")
        expect(banner).to_contain_text(f"every {PROBE_S} seconds")
        expect(link).to_have_attribute("data-state", "degraded")
        page.click("#cr-lang-ur")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(banner).to_contain_text("منقطع")
        page.screenshot(path=str(_artifact("control-room-degraded-ur.png")))
        page.click("#cr-lang-en")
        expect(banner).to_contain_text("interrupted")

        raised_at = time.monotonic()
        violation, _ = _in_thread(raise_for, offender, key="while-redis-down")
        expect(page.locator(f"#alert-{violation.pk}")).to_be_visible(timeout=4_000)
        assert time.monotonic() - raised_at < 4  # seconds, not the re-check's minute

        valkey["proc"], _ = embedded_redis.start(port=valkey["port"])
        expect(banner).to_be_hidden(timeout=WAIT_MS)
        expect(link).to_have_attribute("data-state", "live")
        assert problems == [], problems
    finally:
        context.close()
        connections.close_all()
