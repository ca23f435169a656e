"""Sign-in rules, the second factor, lockouts, throttling and device tokens (services)."""

import json
import logging
import threading
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from accounts import services, totp
from accounts.models import DeviceToken, LoginAttempt, Officer, RecoveryCode, TOTPDevice
from audit.models import AuditAction, AuditEvent
from common.exceptions import Conflict, Forbidden, NotFound, RateLimited
from tests.accounts.conftest import code_now
from tests.conftest import PASSWORD

IP = "10.1.1.1"


def login(officer_or_username, otp: str = "", *, password: str = PASSWORD, ip: str = IP):
    username = getattr(officer_or_username, "username", officer_or_username)
    return services.auth_login_check(
        username=username,
        password=password,
        otp=otp,
        client_ip=ip,
        channel=services.Channel.MOBILE,
    )


def fail_times(username: str, times: int, *, ip: str = IP) -> None:
    for _ in range(times):
        with pytest.raises((services.InvalidCredentials, services.AccountLocked)):
            login(username, "000000", password="wrong-password")


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


# --- password and second factor ------------------------------------------------------------


def test_password_and_current_code_sign_in_and_are_audited(clock, beat_officer, enrol):
    secret = enrol(beat_officer)

    result = login(beat_officer, code_now(secret))

    assert result.officer == beat_officer
    assert result.second_factor == services.SecondFactor.TOTP
    event = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert (event.actor_id, event.details) == (
        beat_officer.id,
        {"channel": "mobile", "second_factor": "totp"},
    )
    assert LoginAttempt.objects.get().succeeded is True


def test_wrong_password_is_refused_and_the_failure_is_kept(clock, beat_officer, enrol):
    secret = enrol(beat_officer)

    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, code_now(secret), password="not-the-password")

    attempt = LoginAttempt.objects.get()
    assert (attempt.succeeded, attempt.reason, attempt.client_ip) == (False, "bad_password", IP)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_username, event.outcome) == (
        AuditAction.LOGIN_FAILED,
        "beat-officer",
        "bad_password",
    )


def test_unknown_username_gets_the_same_answer_as_a_wrong_password(clock, beat_officer, enrol):
    enrol(beat_officer)

    with pytest.raises(services.InvalidCredentials) as unknown:
        login("no-such-officer", "123456")
    with pytest.raises(services.InvalidCredentials) as wrong:
        login(beat_officer, "123456", password="wrong")

    assert (unknown.value.code, unknown.value.message) == (wrong.value.code, wrong.value.message)
    # Unknown usernames are kept only as a keyed hash (they are often a mistyped password).
    assert not LoginAttempt.objects.filter(username="no-such-officer").exists()
    assert LoginAttempt.objects.filter(
        username=services.unknown_username_key("no-such-officer"), reason="unknown_user"
    ).exists()


def test_wrong_code_gets_the_same_answer_as_a_wrong_password(clock, beat_officer, enrol):
    secret = enrol(beat_officer)

    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, code_now(secret, steps=3))

    assert LoginAttempt.objects.get().reason == "bad_second_factor"


def test_inactive_officer_cannot_sign_in(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    beat_officer.is_active = False
    beat_officer.save()

    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, code_now(secret))


def test_officer_without_an_authenticator_must_enrol(clock, beat_officer):
    with pytest.raises(services.MfaRequired) as refused:
        login(beat_officer, "123456")

    assert refused.value.officer_id == beat_officer.id
    assert refused.value.status_code == 403


def test_unconfirmed_authenticator_does_not_count(clock, beat_officer):
    TOTPDevice.objects.create(officer=beat_officer, secret=totp.new_secret())

    with pytest.raises(services.MfaRequired):
        login(beat_officer, "123456")


def test_a_code_works_once(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    code = code_now(secret)
    login(beat_officer, code)

    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, code)


def test_an_older_code_is_refused_after_a_newer_one_was_used(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    login(beat_officer, code_now(secret, steps=1))

    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, code_now(secret))


def test_phone_one_step_slow_is_accepted_two_steps_refused(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    device = TOTPDevice.objects.get(officer=beat_officer)
    phone_code = code_now(secret)

    clock.shift(2 * totp.STEP_SECONDS)  # the phone is now two steps behind our clock
    assert services.totp_verify(device=device, code=phone_code) is False

    clock.shift(-totp.STEP_SECONDS)  # one step behind
    assert services.totp_verify(device=device, code=phone_code) is True


def test_code_one_step_ahead_is_accepted_two_ahead_refused(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    device = TOTPDevice.objects.get(officer=beat_officer)

    assert services.totp_verify(device=device, code=code_now(secret, steps=2)) is False
    assert services.totp_verify(device=device, code=code_now(secret, steps=1)) is True


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uses_of_one_code_cannot_both_pass(beat_officer, enrol):
    secret = enrol(beat_officer)
    code = code_now(secret)
    device_id = TOTPDevice.objects.get(officer=beat_officer).pk
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def use() -> None:
        try:
            device = TOTPDevice.objects.get(pk=device_id)
            barrier.wait()
            results.append(services.totp_verify(device=device, code=code))
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, True]


def test_recovery_code_signs_in_once(clock, beat_officer, enrol):
    services.totp_enrol_start(officer=beat_officer)
    secret = TOTPDevice.objects.get(officer=beat_officer).secret
    codes = services.totp_enrol_confirm(officer=beat_officer, otp=code_now(secret))

    result = login(beat_officer, codes[3].upper())

    assert result.second_factor == services.SecondFactor.RECOVERY_CODE
    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, codes[3])
    assert RecoveryCode.objects.filter(officer=beat_officer, used_at__isnull=False).count() == 1


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_gives_a_uri_and_qr_and_confirming_gives_ten_hashed_codes(clock, control_room):
    enrolment = services.totp_enrol_start(officer=control_room)
    device = TOTPDevice.objects.get(officer=control_room)

    assert f"secret={device.secret}" in enrolment.otpauth_uri
    assert enrolment.qr_svg_data_uri.startswith("data:image/svg+xml;base64,")
    assert device.confirmed_at is None

    codes = services.totp_enrol_confirm(officer=control_room, otp=code_now(device.secret))

    assert len(set(codes)) == 10
    stored = list(
        RecoveryCode.objects.filter(officer=control_room).values_list("code_hash", flat=True)
    )
    assert len(stored) == 10
    assert not {totp.normalize_recovery_code(c) for c in codes} & set(stored)
    device.refresh_from_db()
    assert device.confirmed_at is not None
    assert [e.details["stage"] for e in AuditEvent.objects.order_by("id")] == [
        "started",
        "confirmed",
    ]


def test_confirming_with_a_wrong_code_fails(clock, control_room):
    services.totp_enrol_start(officer=control_room)

    with pytest.raises(services.ApplicationError) as refused:
        services.totp_enrol_confirm(officer=control_room, otp="000000")

    assert refused.value.code == "invalid_otp"
    assert TOTPDevice.objects.get(officer=control_room).confirmed_at is None


def test_a_confirmed_authenticator_is_not_replaced_by_enrolling_again(clock, control_room, enrol):
    secret = enrol(control_room)

    with pytest.raises(Conflict):
        services.totp_enrol_start(officer=control_room)

    assert TOTPDevice.objects.get(officer=control_room).secret == secret


def test_system_admin_resets_a_lost_authenticator(clock, control_room, system_admin, enrol):
    enrol(control_room)

    services.totp_reset(actor=system_admin, officer=control_room)

    assert not TOTPDevice.objects.filter(officer=control_room).exists()
    with pytest.raises(services.MfaRequired):
        login(control_room, "123456")


def test_other_roles_cannot_reset_an_authenticator(clock, control_room, station_officer, enrol):
    enrol(control_room)

    with pytest.raises(Forbidden):
        services.totp_reset(actor=station_officer, officer=control_room)


def test_password_alone_cannot_stand_in_for_an_enrolled_second_factor(clock, control_room, enrol):
    enrol(control_room)

    with pytest.raises(services.InvalidCredentials):
        services.auth_enrolment_check(
            username=control_room.username, password=PASSWORD, otp="", client_ip=IP
        )


# --- lockout and throttling ------------------------------------------------------------------


def test_five_failures_in_the_window_lock_the_account(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    fail_times(beat_officer.username, 4)

    with pytest.raises(services.AccountLocked):
        login(beat_officer, "000000", password="wrong")

    beat_officer.refresh_from_db()
    assert beat_officer.locked_until == timezone.now() + timedelta(minutes=15)
    # Locked: even the right password and code are refused, without saying they were right.
    with pytest.raises(services.AccountLocked):
        login(beat_officer, code_now(secret))
    assert actions().count(AuditAction.LOCKOUT) == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_cannot_outrun_the_lockout(beat_officer, enrol):
    enrol(beat_officer)
    guesses = 10
    barrier = threading.Barrier(guesses)

    def guess() -> None:
        try:
            barrier.wait()
            with pytest.raises((services.InvalidCredentials, services.AccountLocked)):
                login(beat_officer, "000000", password="wrong")
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Only five passwords were ever checked; the rest met the lock.
    reasons = list(LoginAttempt.objects.values_list("reason", flat=True))
    assert reasons.count("bad_password") == 5
    assert reasons.count("locked") == guesses - 5


def test_failures_spread_beyond_the_window_do_not_lock(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    for _ in range(5):
        fail_times(beat_officer.username, 1)
        clock.shift(timedelta(minutes=4))

    assert login(beat_officer, code_now(secret)).officer == beat_officer


def test_the_lock_lifts_when_the_window_has_passed(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    fail_times(beat_officer.username, 5)

    clock.shift(timedelta(minutes=15, seconds=1))

    assert login(beat_officer, code_now(secret)).officer == beat_officer


def test_a_success_forgets_earlier_failures(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    fail_times(beat_officer.username, 4)
    login(beat_officer, code_now(secret))
    clock.shift(1)

    fail_times(beat_officer.username, 4)  # four after the success, nine in the window
    clock.shift(totp.STEP_SECONDS)

    assert login(beat_officer, code_now(secret)).officer == beat_officer


def test_system_admin_unlocks_and_old_failures_stop_counting(
    clock, beat_officer, system_admin, enrol
):
    secret = enrol(beat_officer)
    fail_times(beat_officer.username, 5)

    services.officer_unlock(actor=system_admin, officer=beat_officer)
    clock.shift(1)

    fail_times(beat_officer.username, 1)  # one more failure does not lock again
    assert login(beat_officer, code_now(secret)).officer == beat_officer
    unlock = AuditEvent.objects.get(action=AuditAction.UNLOCK)
    assert (unlock.actor_id, unlock.object_id, unlock.details) == (
        system_admin.id,
        str(beat_officer.id),
        {"was_locked": True},
    )


def test_only_a_system_admin_unlocks(clock, beat_officer, station_officer):
    fail_times(beat_officer.username, 5)

    with pytest.raises(Forbidden):
        services.officer_unlock(actor=station_officer, officer=beat_officer)


def test_unknown_usernames_lock_like_real_ones(clock, beat_officer, enrol):
    enrol(beat_officer)
    fail_times("no-such-officer", 4)

    with pytest.raises(services.AccountLocked):
        login("no-such-officer", "000000", password="wrong")
    with pytest.raises(services.AccountLocked):
        login("no-such-officer", "000000", password="wrong")


def test_an_address_failing_across_accounts_is_throttled(clock, world, enrol):
    limit = 20
    for n in range(limit):
        fail_times(f"guess-{n}", 1)

    clock.shift(60)
    with pytest.raises(RateLimited) as throttled:
        login("guess-new", "000000", password="wrong")

    # The oldest failure leaves the 15-minute window 14 minutes from now.
    assert throttled.value.headers["Retry-After"] == str(14 * 60)
    assert LoginAttempt.objects.filter(reason="throttled").count() == 1


def test_a_throttled_address_is_refused_even_with_the_right_credentials(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    for n in range(20):
        fail_times(f"guess-{n}", 1)

    with pytest.raises(RateLimited):
        login(beat_officer, code_now(secret))
    # Another address is not affected.
    assert login(beat_officer, code_now(secret), ip="10.9.9.9").officer == beat_officer


def test_the_throttle_lifts_after_the_window(clock, beat_officer, enrol):
    secret = enrol(beat_officer)
    for n in range(20):
        fail_times(f"guess-{n}", 1)

    clock.shift(timedelta(minutes=15, seconds=1))

    assert login(beat_officer, code_now(secret)).officer == beat_officer


# --- device tokens ---------------------------------------------------------------------------


def test_a_device_token_is_stored_only_as_its_hash(clock, beat_officer):
    issued = services.device_token_issue(
        officer=beat_officer, device_id="phone-1", device_name="Samsung"
    )

    stored = DeviceToken.objects.get()
    assert stored.token_hash == services.token_hash(issued.token) != issued.token
    assert stored.expires_at == timezone.now() + timedelta(hours=12)
    assert (
        services.device_token_authenticate(
            raw_token=issued.token, device_id=issued.device_token.device_id
        ).officer
        == beat_officer
    )


def test_a_new_token_for_the_same_phone_revokes_the_old_one(clock, beat_officer):
    first = services.device_token_issue(officer=beat_officer, device_id="phone-1", device_name="")
    other_phone = services.device_token_issue(
        officer=beat_officer, device_id="phone-2", device_name=""
    )

    services.device_token_issue(officer=beat_officer, device_id="phone-1", device_name="")

    with pytest.raises(services.TokenRejected) as rejected:
        services.device_token_authenticate(
            raw_token=first.token, device_id=first.device_token.device_id
        )
    assert rejected.value.code == "token_revoked"
    assert services.device_token_authenticate(
        raw_token=other_phone.token, device_id=other_phone.device_token.device_id
    )


def test_a_token_expires_after_the_shift(clock, beat_officer):
    issued = services.device_token_issue(officer=beat_officer, device_id="p", device_name="")

    clock.shift(timedelta(hours=12))

    with pytest.raises(services.TokenRejected) as rejected:
        services.device_token_authenticate(
            raw_token=issued.token, device_id=issued.device_token.device_id
        )
    assert rejected.value.code == "token_expired"


def test_a_token_of_a_deactivated_officer_fails(clock, beat_officer):
    issued = services.device_token_issue(officer=beat_officer, device_id="p", device_name="")
    Officer.objects.filter(pk=beat_officer.pk).update(is_active=False)

    with pytest.raises(services.TokenRejected):
        services.device_token_authenticate(
            raw_token=issued.token, device_id=issued.device_token.device_id
        )


def test_a_token_sent_from_another_device_fails(clock, beat_officer):
    issued = services.device_token_issue(officer=beat_officer, device_id="p", device_name="")

    with pytest.raises(services.TokenRejected) as rejected:
        services.device_token_authenticate(raw_token=issued.token, device_id="other")
    assert rejected.value.code == "device_mismatch"
    assert services.device_token_authenticate(raw_token=issued.token, device_id="p")


def test_a_token_sent_from_no_device_fails(clock, beat_officer):
    issued = services.device_token_issue(officer=beat_officer, device_id="p", device_name="")

    with pytest.raises(services.TokenRejected) as rejected:
        services.device_token_authenticate(raw_token=issued.token, device_id="")
    assert rejected.value.code == "device_required"


def test_last_used_is_written_at_most_once_a_minute(clock, beat_officer, django_assert_num_queries):
    issued = services.device_token_issue(officer=beat_officer, device_id="p", device_name="")
    services.device_token_authenticate(
        raw_token=issued.token, device_id=issued.device_token.device_id
    )
    first_use = DeviceToken.objects.get().last_used_at

    clock.shift(30)
    with django_assert_num_queries(1):  # the lookup only
        services.device_token_authenticate(
            raw_token=issued.token, device_id=issued.device_token.device_id
        )
    assert DeviceToken.objects.get().last_used_at == first_use

    clock.shift(31)
    services.device_token_authenticate(
        raw_token=issued.token, device_id=issued.device_token.device_id
    )
    assert DeviceToken.objects.get().last_used_at == timezone.now()


def test_the_owner_revokes_a_lost_phone_in_one_call(clock, beat_officer):
    tokens = [
        services.device_token_issue(officer=beat_officer, device_id="lost", device_name="")
        for _ in range(2)
    ]
    kept = services.device_token_issue(officer=beat_officer, device_id="kept", device_name="")

    services.device_revoke(actor=beat_officer, officer=beat_officer, device_id="lost")

    for issued in tokens:
        with pytest.raises(services.TokenRejected):
            services.device_token_authenticate(
                raw_token=issued.token, device_id=issued.device_token.device_id
            )
    assert services.device_token_authenticate(
        raw_token=kept.token, device_id=kept.device_token.device_id
    )
    event = AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED).latest("id")
    assert event.details["reason"] == "revoked_by_owner"


def test_system_admin_revokes_anyones_device(clock, beat_officer, system_admin):
    issued = services.device_token_issue(officer=beat_officer, device_id="p", device_name="")

    assert services.device_revoke(actor=system_admin, officer=beat_officer, device_id="p") == 1

    token = DeviceToken.objects.get(pk=issued.device_token.pk)
    assert token.revoked_by == system_admin


def test_a_colleague_cannot_revoke_anothers_device(clock, beat_officer, beat_officer_elsewhere):
    issued = services.device_token_issue(officer=beat_officer, device_id="p", device_name="")

    with pytest.raises(NotFound):
        services.device_revoke(actor=beat_officer_elsewhere, officer=beat_officer, device_id="p")
    assert services.device_token_authenticate(
        raw_token=issued.token, device_id=issued.device_token.device_id
    )


def test_revoking_a_device_never_enrolled_is_not_found(clock, beat_officer):
    with pytest.raises(NotFound):
        services.device_revoke(actor=beat_officer, officer=beat_officer, device_id="nope")


# --- what is never recorded --------------------------------------------------------------------


def test_no_password_code_or_token_reaches_the_audit_trail_or_the_logs(
    clock, caplog, beat_officer, enrol
):
    caplog.set_level(logging.DEBUG)
    secret = enrol(beat_officer)
    secrets_used: list[str] = [PASSWORD, "wrong-password-xyz", secret]

    bad_code = code_now(secret, steps=5)
    secrets_used.append(bad_code)
    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, bad_code)
    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, "000000", password="wrong-password-xyz")
    good_code = code_now(secret)
    secrets_used.append(good_code)
    issued = services.device_login(
        username=beat_officer.username,
        password=PASSWORD,
        otp=good_code,
        device_id="phone-1",
        device_name="",
        client_ip=IP,
    )
    secrets_used.append(issued.token)
    clock.shift(1)
    fail_times(beat_officer.username, 5)  # and a lockout

    assert {AuditAction.LOGIN, AuditAction.LOGIN_FAILED, AuditAction.LOCKOUT} <= set(actions())
    assert AuditAction.TOKEN_ISSUED in actions()
    rows = json.dumps(list(AuditEvent.objects.values()), cls=DjangoJSONEncoder)
    attempts = json.dumps(list(LoginAttempt.objects.values()), cls=DjangoJSONEncoder)
    for value in secrets_used:
        assert value not in rows
        assert value not in attempts
        assert value not in caplog.text


# --- unknown usernames are never stored as typed ---------------------------------------------


def test_unknown_usernames_are_stored_only_as_a_keyed_hash(clock, world):
    with pytest.raises(services.InvalidCredentials):
        login("No-Such-Officer", "000000", password="wrong")

    attempt = LoginAttempt.objects.get()
    assert attempt.username == services.unknown_username_key("no-such-officer")
    assert "no-such-officer" not in attempt.username.lower()
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert "no-such-officer" not in event.actor_username.lower()


def test_known_usernames_are_still_recorded_by_name(clock, beat_officer, enrol):
    enrol(beat_officer)
    with pytest.raises(services.InvalidCredentials):
        login(beat_officer, "000000", password="wrong")

    assert LoginAttempt.objects.get().username == "beat-officer"
    assert AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED).actor_username == "beat-officer"


def test_a_throttled_unknown_username_is_not_stored_as_typed(clock, world):
    for n in range(20):
        fail_times(f"guess-{n}", 1)

    with pytest.raises(RateLimited):
        login("typed-a-password", "000000", password="wrong")

    assert not LoginAttempt.objects.filter(username__icontains="typed-a-password").exists()
    assert not AuditEvent.objects.filter(actor_username__icontains="typed-a-password").exists()


# --- officer_update: the one way to change a role, jurisdiction, staff or active flag ----------


def test_officer_update_changes_and_audits_field_names_only(system_admin, beat_officer, world):
    services.officer_update(
        actor=system_admin,
        officer=beat_officer,
        changes={"role": "station_officer", "beat": None, "full_name": "Renamed"},
    )

    beat_officer.refresh_from_db()
    assert (beat_officer.role, beat_officer.beat, beat_officer.full_name) == (
        "station_officer",
        None,
        "Renamed",
    )
    event = AuditEvent.objects.get(action=AuditAction.UPDATE)
    assert (event.object_type, event.object_id) == ("officer", str(beat_officer.id))
    assert event.details == {"fields": ["beat", "full_name", "role"]}
    assert "Renamed" not in json.dumps(event.details)


def test_officer_update_refuses_the_own_role(system_admin):
    for changes in ({"role": "registry_admin"}, {"is_staff": False}, {"is_active": False}):
        with pytest.raises(Forbidden):
            services.officer_update(actor=system_admin, officer=system_admin, changes=changes)

    system_admin.refresh_from_db()
    assert system_admin.role == "system_admin"
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()


def test_officer_update_never_sets_superuser(system_admin, beat_officer):
    with pytest.raises(ValueError, match="is_superuser"):
        services.officer_update(
            actor=system_admin, officer=beat_officer, changes={"is_superuser": True}
        )


def test_officer_update_needs_the_permission(station_officer, beat_officer):
    with pytest.raises(Forbidden):
        services.officer_update(
            actor=station_officer, officer=beat_officer, changes={"is_active": False}
        )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"role": "control_room", "district": None}, "district"),
        ({"role": "station_officer", "station": None}, "station"),
        ({"beat": None}, "beat"),
        ({"role": "registry_admin"}, "agency"),
        ({"role": "not-a-role"}, "role"),
    ],
)
def test_officer_update_validates_against_the_role_table(
    system_admin, beat_officer, changes, field
):
    with pytest.raises(services.ApplicationError) as refused:
        services.officer_update(actor=system_admin, officer=beat_officer, changes=changes)

    assert field in refused.value.fields
    beat_officer.refresh_from_db()
    assert beat_officer.role == "beat_officer"


# --- one device, one live token, even under concurrency --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ins_on_one_device_leave_one_live_token(beat_officer, monkeypatch):
    real_token_hash = services.token_hash

    def slow_token_hash(raw: str) -> str:
        # Widen the window between reading the live tokens and inserting the new one.
        import time

        time.sleep(0.3)
        return real_token_hash(raw)

    monkeypatch.setattr(services, "token_hash", slow_token_hash)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def issue() -> None:
        try:
            barrier.wait()
            services.device_token_issue(officer=beat_officer, device_id="phone-1", device_name="")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert DeviceToken.objects.filter(officer=beat_officer).count() == 2
    assert DeviceToken.objects.filter(officer=beat_officer, revoked_at__isnull=True).count() == 1
