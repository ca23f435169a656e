"""Web sign-in (password plus second factor), enrolment, idle timeout, and the admin's login."""

from datetime import timedelta

import pytest

from accounts.models import LoginAttempt, TOTPDevice
from audit.models import AuditAction, AuditEvent
from tests.accounts.conftest import code_now
from tests.conftest import PASSWORD

LOGIN_URL = "/accounts/login/"
HOME_URL = "/accounts/"


def web_login(client, officer, otp: str, *, url: str = LOGIN_URL, password: str = PASSWORD):
    return client.post(url, {"username": officer.username, "password": password, "otp": otp})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_password_and_code_open_a_web_session(clock, client, control_room, enrol):
    secret = enrol(control_room)

    response = web_login(client, control_room, code_now(secret))

    assert response.status_code == 302
    assert response["Location"] == HOME_URL
    assert client.get(HOME_URL).status_code == 200
    login = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert login.details == {"channel": "web", "second_factor": "totp"}


def test_password_without_the_code_does_not(clock, client, control_room, enrol):
    enrol(control_room)

    response = web_login(client, control_room, "")

    assert response.status_code == 200
    assert b"Wrong username, password or code." in response.content
    assert not signed_in(client)
    assert LoginAttempt.objects.get().channel == "web"


def test_a_recovery_code_opens_a_session_when_the_phone_is_lost(clock, client, control_room):
    from accounts import services

    services.totp_enrol_start(officer=control_room)
    secret = TOTPDevice.objects.get(officer=control_room).secret
    codes = services.totp_enrol_confirm(officer=control_room, otp=code_now(secret))

    assert web_login(client, control_room, codes[0]).status_code == 302
    assert signed_in(client)


def test_sign_in_follows_a_safe_next_only(clock, client, control_room, enrol):
    secret = enrol(control_room)
    url = f"{LOGIN_URL}?next=https://evil.example/"

    response = web_login(client, control_room, code_now(secret), url=url)

    assert response["Location"] == HOME_URL


def test_an_officer_without_an_authenticator_enrols_then_signs_in(clock, client, control_room):
    response = web_login(client, control_room, "")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/totp/enrol/"
    assert not signed_in(client)

    page = client.get("/accounts/totp/enrol/")
    assert page.status_code == 200
    assert b"data:image/svg+xml;base64," in page.content
    secret = TOTPDevice.objects.get(officer=control_room).secret

    wrong = client.post("/accounts/totp/enrol/", {"otp": "000000"})
    assert wrong.status_code == 200
    assert TOTPDevice.objects.get(officer=control_room).secret == secret  # same QR shown again

    done = client.post("/accounts/totp/enrol/", {"otp": code_now(secret)})
    assert done.status_code == 200
    assert done.content.count(b"<li><code>") == 10
    assert not signed_in(client)

    clock.shift(30)
    assert web_login(client, control_room, code_now(secret)).status_code == 302
    assert signed_in(client)


def test_the_enrolment_page_needs_a_fresh_password_check(clock, client, control_room):
    assert client.get("/accounts/totp/enrol/")["Location"] == LOGIN_URL

    web_login(client, control_room, "")
    clock.shift(timedelta(minutes=11))

    assert client.get("/accounts/totp/enrol/")["Location"] == LOGIN_URL


def test_sign_out_ends_the_session_and_is_audited(clock, client, control_room, enrol):
    secret = enrol(control_room)
    web_login(client, control_room, code_now(secret))

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get(HOME_URL).status_code == 302
    logout = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert (logout.actor_id, logout.details) == (control_room.id, {"channel": "web"})


@pytest.fixture
def long_cookie(settings):
    # The cookie and the session row would outlive the idle rule: the server must enforce it.
    settings.SESSION_COOKIE_AGE = 8 * 3600


def test_a_web_session_ends_after_thirty_idle_minutes(
    clock, client, control_room, enrol, long_cookie
):
    secret = enrol(control_room)
    web_login(client, control_room, code_now(secret))
    assert client.get(HOME_URL).status_code == 200

    clock.shift(timedelta(minutes=30, seconds=1))
    response = client.get(HOME_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert not signed_in(client)
    event = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert event.details["reason"] == "idle_timeout"
    assert event.actor_id == control_room.id


def test_activity_keeps_a_web_session_alive(clock, client, control_room, enrol, long_cookie):
    secret = enrol(control_room)
    web_login(client, control_room, code_now(secret))

    for _ in range(3):
        clock.shift(timedelta(minutes=25))
        assert client.get(HOME_URL).status_code == 200


def test_an_idle_session_no_longer_authenticates_the_api(
    clock, client, control_room, enrol, long_cookie
):
    secret = enrol(control_room)
    web_login(client, control_room, code_now(secret))
    assert client.get("/api/v1/auth/me/").status_code == 200

    clock.shift(timedelta(minutes=31))

    assert client.get("/api/v1/auth/me/").status_code == 401


# --- the Django admin ------------------------------------------------------------------------


@pytest.fixture
def staff_admin(system_admin):
    system_admin.is_staff = True
    system_admin.save()
    return system_admin


def test_admin_login_asks_for_the_second_factor(clock, client, staff_admin, enrol):
    secret = enrol(staff_admin)
    url = "/admin/login/?next=/admin/"
    assert b'name="otp"' in client.get(url).content

    without_code = web_login(client, staff_admin, "", url=url)
    assert without_code.status_code == 200
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302

    with_code = web_login(client, staff_admin, code_now(secret), url=url)
    assert with_code.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.get(action=AuditAction.LOGIN).details["channel"] == "admin"


def test_admin_login_refuses_officers_who_are_not_staff(clock, client, control_room, enrol):
    secret = enrol(control_room)

    response = web_login(client, control_room, code_now(secret), url="/admin/login/")

    assert response.status_code == 200
    assert b"may not use the administration site" in response.content
    assert not signed_in(client)
