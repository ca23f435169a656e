"""The auth API: wiring, status codes, the error body, and who may do what to which device."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.models import DeviceToken, RecoveryCode, TOTPDevice
from audit.models import AuditAction, AuditEvent
from tests.accounts.conftest import code_now, token_request
from tests.conftest import PASSWORD

BASE = "/api/v1/auth"
ERROR_KEYS = {"code", "message", "fields", "request_id"}


def bearer(token: str, **headers: str) -> APIClient:
    """A client sending the token from the phone it was issued to (``phone``: phone-1)."""
    headers.setdefault("HTTP_X_DEVICE_ID", "phone-1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", **headers)
    return client


@pytest.fixture
def phone(clock, api_client, beat_officer, enrol):
    """The beat officer signed in on phone-1: (token, authenticator secret)."""
    secret = enrol(beat_officer)
    response = token_request(api_client, beat_officer.username, code_now(secret))
    assert response.status_code == 201, response.json()
    clock.shift(30)  # the next code is a fresh one
    return response.json()["token"], secret


# --- signing in ------------------------------------------------------------------------------


def test_signing_in_on_a_phone_returns_a_token_and_the_officer(
    clock, api_client, beat_officer, enrol
):
    secret = enrol(beat_officer)

    response = token_request(api_client, beat_officer.username, code_now(secret))

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "expires_at", "officer"}
    assert body["expires_at"] == "2026-03-03T02:00:10+05:00"  # START + 12 h, in PKT
    assert body["officer"] == {
        "id": beat_officer.id,
        "username": "beat-officer",
        "role": "beat_officer",
        "scope": "beat",
        "full_name": beat_officer.full_name,
        "rank": "Inspector",
        "badge_number": beat_officer.badge_number,
        "agency": {"id": beat_officer.agency_id, "name": "Punjab Police", "kind": "police"},
        "jurisdiction": {
            "province": "punjab",
            "district": "lahore",
            "station": "lahore-a",
            "beat": "lahore-a-1",
        },
    }
    assert bearer(body["token"]).get(f"{BASE}/me/").json()["id"] == beat_officer.id
    assert AuditAction.TOKEN_ISSUED in AuditEvent.objects.values_list("action", flat=True)


def test_wrong_password_answers_invalid_credentials(clock, api_client, beat_officer, enrol):
    secret = enrol(beat_officer)

    response = token_request(api_client, beat_officer.username, code_now(secret), password="nope")

    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "invalid_credentials"
    assert not DeviceToken.objects.exists()


def test_a_replayed_code_is_refused(clock, api_client, beat_officer, enrol):
    secret = enrol(beat_officer)
    code = code_now(secret)
    assert token_request(api_client, beat_officer.username, code).status_code == 201

    replay = token_request(api_client, beat_officer.username, code, device_id="phone-2")

    assert (replay.status_code, replay.json()["code"]) == (400, "invalid_credentials")


def test_missing_fields_are_a_validation_error(clock, api_client):
    response = api_client.post(f"{BASE}/token/", {"username": "x"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert {"password", "otp", "device_id"} <= set(response.json()["fields"])


def test_an_officer_without_an_authenticator_gets_mfa_required(clock, api_client, beat_officer):
    response = token_request(api_client, beat_officer.username, "123456")

    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


def test_an_inactive_officer_gets_no_token(clock, api_client, beat_officer, enrol):
    secret = enrol(beat_officer)
    beat_officer.is_active = False
    beat_officer.save()

    response = token_request(api_client, beat_officer.username, code_now(secret))

    assert (response.status_code, response.json()["code"]) == (400, "invalid_credentials")


def test_lockout_answers_account_locked_even_to_the_right_password(
    clock, api_client, beat_officer, enrol
):
    secret = enrol(beat_officer)
    for _ in range(4):
        assert token_request(api_client, "beat-officer", "000000", password="x").status_code == 400

    fifth = token_request(api_client, "beat-officer", "000000", password="x")
    right = token_request(api_client, "beat-officer", code_now(secret))

    assert (fifth.status_code, fifth.json()["code"]) == (403, "account_locked")
    assert (right.status_code, right.json()["code"]) == (403, "account_locked")
    assert set(right.json()) == ERROR_KEYS


def test_system_admin_unlocks_over_the_api(
    clock, api_client, client_for, beat_officer, system_admin, enrol
):
    secret = enrol(beat_officer)
    for _ in range(5):
        token_request(api_client, "beat-officer", "000000", password="x")

    response = client_for(system_admin).post(f"{BASE}/officers/{beat_officer.id}/unlock/")

    assert response.status_code == 200
    assert response.json() == {
        "id": beat_officer.id,
        "username": "beat-officer",
        "locked_until": None,
    }
    assert token_request(api_client, "beat-officer", code_now(secret)).status_code == 201


def test_others_cannot_unlock(clock, client_for, beat_officer, control_room):
    response = client_for(control_room).post(f"{BASE}/officers/{beat_officer.id}/unlock/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_an_address_failing_across_accounts_gets_429_with_retry_after(clock, api_client, world):
    for n in range(20):
        token_request(api_client, f"guess-{n}", "000000", password="x")

    response = token_request(api_client, "guess-20", "000000", password="x")

    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert response.json()["code"] == "rate_limited"
    assert response.json()["retry_after"] == 15 * 60


# --- using the token -------------------------------------------------------------------------


def test_anonymous_request_is_401_with_the_error_body(api_client, world):
    response = api_client.get(f"{BASE}/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == "not_authenticated"


def test_an_unknown_token_is_401(world):
    response = bearer("not-a-token").get(f"{BASE}/me/")

    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")


def test_a_token_expires_after_twelve_hours(clock, phone):
    token, _ = phone
    assert bearer(token).get(f"{BASE}/me/").status_code == 200

    clock.shift(timedelta(hours=12))
    response = bearer(token).get(f"{BASE}/me/")

    assert (response.status_code, response.json()["code"]) == (401, "token_expired")
    assert set(response.json()) == ERROR_KEYS


def test_a_token_sent_with_another_device_id_is_refused(phone):
    token, _ = phone

    assert bearer(token, HTTP_X_DEVICE_ID="phone-1").get(f"{BASE}/me/").status_code == 200
    response = bearer(token, HTTP_X_DEVICE_ID="phone-9").get(f"{BASE}/me/")
    assert (response.status_code, response.json()["code"]) == (401, "device_mismatch")


def test_a_token_sent_without_a_device_id_is_refused(phone):
    """A copied token must not work from anywhere: the phone app always sends X-Device-ID."""
    token, _ = phone
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get(f"{BASE}/me/")

    assert (response.status_code, response.json()["code"]) == (401, "device_required")
    assert bearer(token, HTTP_X_DEVICE_ID="").get(f"{BASE}/me/").status_code == 401


def test_a_deactivated_officers_token_stops_working(phone, beat_officer):
    token, _ = phone
    beat_officer.is_active = False
    beat_officer.save()

    assert bearer(token).get(f"{BASE}/me/").status_code == 401


def test_logout_revokes_the_token(phone, beat_officer):
    token, _ = phone

    assert bearer(token).post(f"{BASE}/logout/").status_code == 204

    assert bearer(token).get(f"{BASE}/me/").status_code == 401
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.LOGOUT, AuditAction.TOKEN_REVOKED} <= actions


# --- devices ---------------------------------------------------------------------------------


def test_an_officer_lists_their_own_devices(phone, beat_officer):
    token, _ = phone

    response = bearer(token).get(f"{BASE}/devices/")

    assert response.status_code == 200
    [device] = response.json()["results"]
    assert device["device_id"] == "phone-1"
    assert device["device_name"] == "Samsung A12"
    assert device["is_active"] is True
    assert device["is_current"] is True
    assert "token_hash" not in device


def test_the_owner_revokes_a_lost_phone(phone):
    token, _ = phone

    response = bearer(token).post(f"{BASE}/devices/phone-1/revoke/")

    assert response.json() == {"device_id": "phone-1", "revoked": 1}
    assert bearer(token).get(f"{BASE}/me/").status_code == 401


def test_system_admin_lists_and_revokes_an_officers_device(
    phone, client_for, beat_officer, system_admin
):
    token, _ = phone
    admin = client_for(system_admin)

    listed = admin.get(f"{BASE}/officers/{beat_officer.id}/devices/")
    revoked = admin.post(f"{BASE}/officers/{beat_officer.id}/devices/phone-1/revoke/")

    assert [d["device_id"] for d in listed.json()["results"]] == ["phone-1"]
    assert revoked.json() == {"device_id": "phone-1", "revoked": 1}
    assert bearer(token).get(f"{BASE}/me/").status_code == 401
    event = AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).latest("id")
    assert (event.actor_id, event.object_id) == (system_admin.id, str(beat_officer.id))


def test_another_officer_can_neither_see_nor_revoke_the_device(
    phone, client_for, beat_officer, beat_officer_elsewhere
):
    token, _ = phone
    colleague = client_for(beat_officer_elsewhere)

    own_route = colleague.post(f"{BASE}/devices/phone-1/revoke/")
    admin_route = colleague.post(f"{BASE}/officers/{beat_officer.id}/devices/phone-1/revoke/")
    listing = colleague.get(f"{BASE}/officers/{beat_officer.id}/devices/")

    assert own_route.status_code == admin_route.status_code == listing.status_code == 404
    assert bearer(token).get(f"{BASE}/me/").status_code == 200


# --- enrolment -------------------------------------------------------------------------------


def test_enrolling_with_username_and_password_then_signing_in(clock, api_client, control_room):
    credentials = {"username": control_room.username, "password": PASSWORD}

    started = api_client.post(f"{BASE}/totp/enrol/", credentials, format="json")
    assert started.status_code == 200
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Nigrani:control-room?")
    assert started.json()["qr_svg"].startswith("data:image/svg+xml;base64,")

    secret = TOTPDevice.objects.get(officer=control_room).secret
    confirmed = api_client.post(
        f"{BASE}/totp/confirm/", {**credentials, "otp": code_now(secret)}, format="json"
    )
    assert confirmed.status_code == 200
    assert len(confirmed.json()["recovery_codes"]) == 10

    clock.shift(30)
    assert token_request(api_client, control_room.username, code_now(secret)).status_code == 201


def test_enrolling_with_a_wrong_password_is_refused(clock, api_client, control_room):
    response = api_client.post(
        f"{BASE}/totp/enrol/", {"username": "control-room", "password": "x"}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_credentials")
    assert not TOTPDevice.objects.exists()


def test_enrolling_anonymously_without_credentials_is_a_validation_error(api_client, world):
    response = api_client.post(f"{BASE}/totp/enrol/", {}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "validation_error")


def test_a_signed_in_officer_cannot_replace_a_confirmed_authenticator(phone):
    token, _ = phone

    response = bearer(token).post(f"{BASE}/totp/enrol/")

    assert (response.status_code, response.json()["code"]) == (409, "mfa_already_enrolled")


def test_confirming_with_a_wrong_code_keeps_the_enrolment_open(clock, client_for, control_room):
    client = client_for(control_room)
    client.post(f"{BASE}/totp/enrol/")

    response = client.post(f"{BASE}/totp/confirm/", {"otp": "000000"}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_otp")
    assert not RecoveryCode.objects.exists()


def test_system_admin_resets_an_authenticator(clock, client_for, control_room, system_admin, enrol):
    enrol(control_room)

    response = client_for(system_admin).post(f"{BASE}/officers/{control_room.id}/totp/reset/")

    assert response.status_code == 204
    assert not TOTPDevice.objects.filter(officer=control_room).exists()


def _text_of(row) -> str:
    """Every text-like column of a row, as one string."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    values = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
    return json.dumps(values, cls=DjangoJSONEncoder)


def test_a_password_typed_as_username_is_stored_nowhere(clock, api_client, world):
    from accounts.models import LoginAttempt

    secret_typed = "MySecretPassw0rd!"
    response = token_request(api_client, secret_typed, "000000", password="whatever")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_credentials")
    assert LoginAttempt.objects.count() == 1
    for row in [*LoginAttempt.objects.all(), *AuditEvent.objects.all()]:
        assert secret_typed.lower() not in _text_of(row).lower()


def test_unknown_usernames_still_lock_after_five_failures(clock, api_client, world):
    for _ in range(4):
        response = token_request(api_client, "MySecretPassw0rd!", "000000", password="x")
        assert response.json()["code"] == "invalid_credentials"

    fifth = token_request(api_client, "MySecretPassw0rd!", "000000", password="x")
    sixth = token_request(api_client, "mysecretpassw0rd!", "000000", password="x")

    assert (fifth.status_code, fifth.json()["code"]) == (403, "account_locked")
    assert (sixth.status_code, sixth.json()["code"]) == (403, "account_locked")


def test_a_malformed_client_address_does_not_break_sign_in(clock, api_client, beat_officer, enrol):
    from accounts.models import LoginAttempt

    enrol(beat_officer)
    response = token_request(
        api_client, beat_officer.username, "000000", password="x", REMOTE_ADDR="garbage"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_credentials")
    attempt = LoginAttempt.objects.get()
    assert (attempt.username, attempt.client_ip, attempt.succeeded) == ("beat-officer", None, False)
