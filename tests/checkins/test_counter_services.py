"""The check-in at the counter: location rule, OTP flow, limits, override, declarations."""

from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.services import InvalidCredentials
from audit.models import AuditEvent
from checkins.models import ChallengeState, Checkin, CheckinStatus, OtpChallenge, StationTerminal
from checkins.services.counter import (
    ChallengeExpired,
    ChallengeLocked,
    Declaration,
    Location,
    WrongCode,
    checkin_override,
    checkin_resend,
    checkin_start,
)
from common.exceptions import ApplicationError, Conflict, Forbidden, NotFound, RateLimited
from push.models import Notification, SmsMessage, SmsStatus
from push.services import sms_to_index
from registry.models import Notice, NoticeKind, NoticeStatus, Offender
from registry.services.notices import notice_file
from tests.checkins.conftest import (
    AT_STATION,
    FAR_AWAY,
    NEAR_EDGE,
    UNCHANGED,
    enrol_device,
    override_credentials,
    sent_code,
    start,
    supervised_offender,
    verify,
    wrong,
)


def override(actor, checkin, second, *, reason="phone lost", declaration=UNCHANGED, **creds):
    credentials = {**override_credentials(second), **creds}
    return checkin_override(
        actor=actor,
        checkin_id=checkin.pk,
        username=credentials["username"],
        password=credentials["password"],
        otp_code=credentials["otp_code"],
        reason=reason,
        declaration=declaration,
        channel="web",
        client_ip="127.0.0.1",
    )


# --- where -----------------------------------------------------------------------------------


def test_checkin_inside_the_station_sends_the_code_to_the_registered_phone(
    station_officer, offender
):
    checkin = start(station_officer, offender)

    assert checkin.status == CheckinStatus.OTP_SENT
    message = SmsMessage.objects.get(offender_id=offender.pk, purpose="checkin_otp")
    assert message.to == offender.phone
    assert message.sensitive
    assert message.expires_at == checkin.challenge.expires_at
    assert checkin.challenge.expires_at - timezone.now() <= timedelta(minutes=5)
    assert checkin.due_on == offender.next_checkin_due


def test_checkin_outside_the_station_is_refused_with_the_reason(station_officer, offender):
    with pytest.raises(ApplicationError) as refused:
        start(station_officer, offender, location=FAR_AWAY)

    assert refused.value.status_code == 400
    assert refused.value.code == "outside_station"
    assert "location" in refused.value.fields
    assert not Checkin.objects.exists()
    assert not SmsMessage.objects.exists()


def test_fix_just_outside_counts_when_its_accuracy_reaches_the_area(station_officer, offender):
    lon, lat = NEAR_EDGE  # ~95 m outside
    with pytest.raises(ApplicationError):
        start(station_officer, offender, location=Location(lon=lon, lat=lat, accuracy_m=50))

    checkin = start(station_officer, offender, location=Location(lon=lon, lat=lat, accuracy_m=120))

    assert checkin.status == CheckinStatus.OTP_SENT


def test_a_wildly_inaccurate_fix_proves_nothing(station_officer, offender, settings):
    settings.NIGRANI_CHECKIN_ACCURACY_CAP_M = 50
    lon, lat = NEAR_EDGE
    with pytest.raises(ApplicationError) as refused:
        start(station_officer, offender, location=Location(lon=lon, lat=lat, accuracy_m=5000))
    assert refused.value.code == "outside_station"


def test_an_enrolled_station_terminal_needs_no_location(station_officer, offender):
    enrol_device(station_officer, "counter-pc")
    terminal = StationTerminal.objects.create(
        station=station_officer.station, device_id="counter-pc", enrolled_by=station_officer
    )

    checkin = start(station_officer, offender, location=None, device_id="counter-pc")

    assert checkin.terminal == terminal
    assert (checkin.lon, checkin.lat) == (None, None)


def test_a_revoked_or_other_stations_terminal_is_no_exception(station_officer, offender, world):
    StationTerminal.objects.create(
        station=station_officer.station, device_id="old-pc", revoked_at=timezone.now()
    )
    StationTerminal.objects.create(station=world.lahore_b, device_id="b-pc")
    for device in ("old-pc", "b-pc", "unknown"):
        with pytest.raises(ValidationError):
            start(station_officer, offender, location=None, device_id=device)
        with pytest.raises(ApplicationError):
            start(station_officer, offender, location=FAR_AWAY, device_id=device)


# --- who -------------------------------------------------------------------------------------


def test_offender_of_another_station_is_not_found(station_officer, world):
    elsewhere = supervised_offender(world, station=world.lahore_b)
    with pytest.raises(NotFound):
        start(station_officer, elsewhere)


def test_offender_found_by_the_cnic_presented(station_officer, offender):
    checkin = checkin_start(actor=station_officer, cnic=offender.cnic, location=AT_STATION)
    assert checkin.offender_id == offender.pk


def test_cnic_of_another_stations_offender_is_not_found(station_officer, world):
    elsewhere = supervised_offender(world, station=world.lahore_b)
    with pytest.raises(NotFound):
        checkin_start(actor=station_officer, cnic=elsewhere.cnic, location=AT_STATION)


def test_malformed_cnic_is_a_field_error(station_officer, offender):
    with pytest.raises(ValidationError) as error:
        checkin_start(actor=station_officer, cnic="12", location=AT_STATION)
    assert "cnic" in error.value.message_dict


def test_only_station_officers_check_in(control_room, beat_officer, offender):
    for actor in (control_room, beat_officer):
        with pytest.raises(Forbidden):
            start(actor, offender)


def test_offender_not_active_does_not_check_in(station_officer, world):
    absconded = supervised_offender(world, status="absconded")
    with pytest.raises(Conflict):
        start(station_officer, absconded)


def test_without_a_registered_phone_only_an_override_confirms(
    station_officer, second_officer, world
):
    no_phone = supervised_offender(world, phone="")
    checkin = start(station_officer, no_phone)
    assert checkin.status == CheckinStatus.NO_PHONE
    assert not SmsMessage.objects.exists()
    with pytest.raises(Conflict):
        verify(station_officer, checkin, "123456")

    override(station_officer, checkin, second_officer)
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.CONFIRMED


# --- the code ---------------------------------------------------------------------------------


def test_right_code_confirms_and_moves_the_next_due_date(station_officer, offender):
    checkin = start(station_officer, offender)

    verify(station_officer, checkin, sent_code(checkin))

    checkin.refresh_from_db()
    offender.refresh_from_db()
    today = timezone.localdate()
    assert checkin.status == CheckinStatus.CONFIRMED
    assert checkin.method == "sms_otp"
    assert checkin.confirmed_by == station_officer
    assert checkin.confirmed_on == today
    assert checkin.details_unchanged is True
    assert (checkin.lon, checkin.lat, checkin.accuracy_m) == (74.25, 31.5, 10)
    # Tier 2 (seeded policy): every 30 days from today.
    assert offender.next_checkin_due == today + timedelta(days=30) == checkin.next_due_on
    challenge = OtpChallenge.objects.get(checkin=checkin)
    assert challenge.state == ChallengeState.USED
    assert challenge.secret == ""


def test_a_code_works_once(station_officer, offender):
    checkin = start(station_officer, offender)
    code = sent_code(checkin)
    verify(station_officer, checkin, code)

    with pytest.raises(Conflict) as again:
        verify(station_officer, checkin, code)
    assert again.value.code == "already_confirmed"


def test_wrong_code_counts_down_the_attempts(station_officer, offender):
    checkin = start(station_officer, offender)
    code = sent_code(checkin)

    for left in (4, 3):
        with pytest.raises(WrongCode) as refused:
            verify(station_officer, checkin, wrong(code))
        assert refused.value.extra == {"attempts_left": left}

    assert OtpChallenge.objects.get(checkin=checkin).failed_attempts == 2
    verify(station_officer, checkin, code)  # the right code still works
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.CONFIRMED


def test_five_wrong_codes_lock_the_challenge_and_notify_the_station(
    station_officer, second_officer, station_officer_elsewhere, offender
):
    checkin = start(station_officer, offender)
    code = sent_code(checkin)
    for _ in range(4):
        with pytest.raises(WrongCode):
            verify(station_officer, checkin, wrong(code))

    with pytest.raises(ChallengeLocked):
        verify(station_officer, checkin, wrong(code))

    challenge = OtpChallenge.objects.get(checkin=checkin)
    assert (challenge.state, challenge.secret) == (ChallengeState.LOCKED, "")
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.LOCKED
    notified = set(Notification.objects.values_list("officer__username", flat=True))
    assert notified == {station_officer.username, second_officer.username}
    notice = Notification.objects.first()
    assert (notice.kind, notice.object_type, notice.object_id) == (
        "checkin_locked",
        "checkin",
        str(checkin.pk),
    )
    with pytest.raises(ChallengeLocked):  # even the right code, now
        verify(station_officer, checkin, code)
    with pytest.raises(ChallengeLocked):
        checkin_resend(actor=station_officer, checkin_id=checkin.pk)


def test_expired_code_is_gone(station_officer, offender):
    checkin = start(station_officer, offender)
    code = sent_code(checkin)

    later = timezone.now() + timedelta(minutes=5, seconds=1)
    with time_machine.travel(later), pytest.raises(ChallengeExpired):
        verify(station_officer, checkin, code)

    challenge = OtpChallenge.objects.get(checkin=checkin)
    assert (challenge.state, challenge.secret) == (ChallengeState.EXPIRED, "")
    with pytest.raises(ChallengeExpired):
        verify(station_officer, checkin, code)


def test_code_lifetime_is_a_setting(station_officer, offender, settings):
    settings.NIGRANI_CHECKIN_OTP_MINUTES = 2
    checkin = start(station_officer, offender)
    code = sent_code(checkin)
    later = timezone.now() + timedelta(minutes=2, seconds=1)
    with time_machine.travel(later), pytest.raises(ChallengeExpired):
        verify(station_officer, checkin, code)


# --- resend ----------------------------------------------------------------------------------


def test_resend_voids_the_previous_code_and_withdraws_its_sms(station_officer, offender):
    checkin = start(station_officer, offender)
    first = sent_code(checkin)
    first_message = SmsMessage.objects.get(purpose="checkin_otp")

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        checkin_resend(actor=station_officer, checkin_id=checkin.pk)
        second = sent_code(checkin)
        assert second != first
        first_message.refresh_from_db()
        assert first_message.status == SmsStatus.CANCELLED
        assert first_message.text == ""
        with pytest.raises(WrongCode):
            verify(station_officer, checkin, first)
        verify(station_officer, checkin, second)
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.CONFIRMED


def test_resend_too_soon_says_when_to_retry(station_officer, offender):
    checkin = start(station_officer, offender)
    soon = timezone.now() + timedelta(seconds=20)
    with time_machine.travel(soon, tick=False), pytest.raises(RateLimited) as limited:
        checkin_resend(actor=station_officer, checkin_id=checkin.pk)
    assert limited.value.code == "resend_too_soon"
    assert limited.value.extra["retry_after"] == 40
    assert limited.value.headers["Retry-After"] == "40"


def test_at_most_three_sends_per_checkin(station_officer, offender):
    checkin = start(station_officer, offender)
    moment = timezone.now()
    for _ in range(2):
        moment += timedelta(seconds=61)
        with time_machine.travel(moment):
            checkin_resend(actor=station_officer, checkin_id=checkin.pk)
    later = moment + timedelta(seconds=61)
    with time_machine.travel(later), pytest.raises(RateLimited) as limited:
        checkin_resend(actor=station_officer, checkin_id=checkin.pk)
    assert limited.value.code == "too_many_sends"
    assert SmsMessage.objects.filter(purpose="checkin_otp").count() == 3
    assert OtpChallenge.objects.get(checkin=checkin).counter == 2


def test_resend_does_not_revive_an_expired_challenge(station_officer, offender):
    checkin = start(station_officer, offender)
    code = sent_code(checkin)

    later = timezone.now() + timedelta(minutes=5, seconds=1)
    with time_machine.travel(later), pytest.raises(ChallengeExpired):
        checkin_resend(actor=station_officer, checkin_id=checkin.pk)

    # The expiry was committed: the challenge ended, its secret erased, no new SMS went.
    challenge = OtpChallenge.objects.get(checkin=checkin)
    assert (challenge.state, challenge.secret, challenge.sends) == (ChallengeState.EXPIRED, "", 1)
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.EXPIRED
    assert SmsMessage.objects.filter(purpose="checkin_otp").count() == 1
    with pytest.raises(ChallengeExpired):
        verify(station_officer, checkin, code)


# --- per-offender limits -----------------------------------------------------------------------


def test_a_station_cannot_spray_challenges_at_one_offender(station_officer, offender, world):
    for _ in range(5):
        start(station_officer, offender)
    with pytest.raises(RateLimited) as limited:
        start(station_officer, offender)
    assert limited.value.code == "daily_limit"
    assert limited.value.extra["retry_after"] > 0
    # Another offender is not affected.
    start(station_officer, supervised_offender(world))


def test_daily_limit_is_a_setting_and_resets_the_next_day(station_officer, offender, settings):
    settings.NIGRANI_CHECKIN_DAILY_CHALLENGES = 1
    start(station_officer, offender)
    with pytest.raises(RateLimited):
        start(station_officer, offender)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        start(station_officer, offender)


def test_a_new_checkin_supersedes_the_open_one(station_officer, offender):
    first = start(station_officer, offender)
    code = sent_code(first)
    second = start(station_officer, offender)

    assert Checkin.objects.get(pk=first.pk).status == CheckinStatus.CANCELLED
    assert OtpChallenge.objects.get(checkin=first).secret == ""
    with pytest.raises(Conflict):
        verify(station_officer, first, code)
    verify(station_officer, second, sent_code(second))


# --- override ---------------------------------------------------------------------------------


def test_override_by_a_second_officer_confirms_and_is_marked(
    station_officer, second_officer, offender
):
    checkin = start(station_officer, offender)

    override(station_officer, checkin, second_officer, reason="phone broken")

    checkin.refresh_from_db()
    assert checkin.status == CheckinStatus.CONFIRMED
    assert checkin.method == "override"
    assert checkin.override_by == second_officer
    assert checkin.confirmed_by == station_officer
    assert checkin.override_reason == "phone broken"
    assert OtpChallenge.objects.get(checkin=checkin).secret == ""
    event = AuditEvent.objects.filter(object_type="checkin", action="transition").latest("id")
    assert event.details["method"] == "override"
    assert event.details["override_by_id"] == second_officer.pk
    assert "phone broken" not in str(event.details)


def test_override_needs_another_officer_not_the_same_one(station_officer, offender):
    from accounts.models import TOTPDevice

    TOTPDevice.objects.create(
        officer=station_officer, secret=pyotp.random_base32(), confirmed_at=timezone.now()
    )
    checkin = start(station_officer, offender)
    with pytest.raises(ValidationError) as refused:
        override(station_officer, checkin, station_officer)
    assert "username" in refused.value.message_dict
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.OTP_SENT


def test_override_by_an_officer_of_another_station_is_refused(
    station_officer, station_officer_elsewhere, offender
):
    from accounts.models import TOTPDevice

    TOTPDevice.objects.create(
        officer=station_officer_elsewhere, secret=pyotp.random_base32(), confirmed_at=timezone.now()
    )
    checkin = start(station_officer, offender)
    with pytest.raises(ValidationError):
        override(station_officer, checkin, station_officer_elsewhere)


def test_override_with_wrong_credentials_is_refused_and_counted(
    station_officer, second_officer, offender
):
    from accounts.models import LoginAttempt

    checkin = start(station_officer, offender)
    with pytest.raises(InvalidCredentials):
        override(station_officer, checkin, second_officer, password="wrong-password")
    with pytest.raises(InvalidCredentials):
        override(station_officer, checkin, second_officer, otp_code="000000")

    assert LoginAttempt.objects.filter(officer=second_officer, succeeded=False).count() == 2
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.OTP_SENT


def test_override_needs_a_reason(station_officer, second_officer, offender):
    checkin = start(station_officer, offender)
    with pytest.raises(ValidationError) as refused:
        override(station_officer, checkin, second_officer, reason="  ")
    assert "reason" in refused.value.message_dict


def test_a_locked_checkin_is_not_overridden(station_officer, second_officer, offender):
    checkin = start(station_officer, offender)
    code = sent_code(checkin)
    for _ in range(4):
        with pytest.raises(WrongCode):
            verify(station_officer, checkin, wrong(code))
    with pytest.raises(ChallengeLocked):
        verify(station_officer, checkin, wrong(code))
    with pytest.raises(ChallengeLocked):
        override(station_officer, checkin, second_officer)


# --- declarations ------------------------------------------------------------------------------


def test_confirmation_needs_a_declaration(station_officer, offender):
    checkin = start(station_officer, offender)
    with pytest.raises(ValidationError) as refused:
        verify(station_officer, checkin, sent_code(checkin), declaration=Declaration())
    assert "unchanged" in refused.value.message_dict
    assert OtpChallenge.objects.get(checkin=checkin).failed_attempts == 0


def test_notices_filed_in_the_visit_are_recorded(station_officer, offender):
    checkin = start(station_officer, offender)
    notice = notice_file(
        actor=station_officer,
        offender_id=offender.pk,
        kind=NoticeKind.EMPLOYMENT_CHANGE,
        changed_on=timezone.localdate(),
        details={"employer": "A workshop"},
    )

    verify(
        station_officer,
        checkin,
        sent_code(checkin),
        declaration=Declaration(notice_ids=(notice.pk,)),
    )

    checkin.refresh_from_db()
    assert list(checkin.notices.values_list("id", flat=True)) == [notice.pk]
    assert checkin.details_unchanged is False


def test_notices_of_another_offender_are_refused(station_officer, offender, world):
    other = supervised_offender(world)
    notice = notice_file(
        actor=station_officer,
        offender_id=other.pk,
        kind=NoticeKind.EMPLOYMENT_CHANGE,
        changed_on=timezone.localdate(),
        details={"employer": "A workshop"},
    )
    checkin = start(station_officer, offender)
    with pytest.raises(ValidationError) as refused:
        verify(
            station_officer,
            checkin,
            sent_code(checkin),
            declaration=Declaration(notice_ids=(notice.pk,)),
        )
    assert "notices" in refused.value.message_dict


def test_checkin_of_an_offender_back_from_travel_closes_the_travel_notice(
    station_officer, offender
):
    today = timezone.localdate()
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        travel = notice_file(
            actor=station_officer,
            offender_id=offender.pk,
            kind=NoticeKind.DOMESTIC_TRAVEL,
            destination_district="kasur",
            departure_date=today - timedelta(days=3),
            return_date=today - timedelta(days=1),
            purpose="family wedding",
        )
    checkin = start(station_officer, offender)

    verify(station_officer, checkin, sent_code(checkin))

    travel = Notice.objects.get(pk=travel.pk)
    assert travel.status == NoticeStatus.CLOSED
    assert travel.returned_on == today
    assert list(checkin.travel_notices_closed.values_list("id", flat=True)) == [travel.pk]


def test_a_trip_starting_today_is_not_closed(station_officer, offender):
    today = timezone.localdate()
    travel = notice_file(
        actor=station_officer,
        offender_id=offender.pk,
        kind=NoticeKind.DOMESTIC_TRAVEL,
        destination_district="kasur",
        departure_date=today + timedelta(days=3),
        return_date=today + timedelta(days=5),
        purpose="work",
    )
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        checkin = start(station_officer, offender)
        verify(station_officer, checkin, sent_code(checkin))
    assert Notice.objects.get(pk=travel.pk).status == NoticeStatus.FILED


def test_an_address_notice_moving_the_offender_away_in_the_visit_still_confirms(
    station_officer, offender, world
):
    checkin = start(station_officer, offender)
    moved = notice_file(
        actor=station_officer,
        offender_id=offender.pk,
        kind=NoticeKind.ADDRESS_CHANGE,
        changed_on=timezone.localdate(),
        details={"address": {"text": "New house", "district": "lahore", "lon": 74.7, "lat": 31.5}},
    )
    assert Offender.objects.get(pk=offender.pk).station == world.lahore_b

    verify(
        station_officer,
        checkin,
        sent_code(checkin),
        declaration=Declaration(notice_ids=(moved.pk,)),
    )

    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.CONFIRMED


def test_an_offender_no_longer_active_is_not_confirmed(station_officer, offender):
    checkin = start(station_officer, offender)
    Offender.objects.filter(pk=offender.pk).update(status="in_custody")
    with pytest.raises(Conflict) as refused:
        verify(station_officer, checkin, sent_code(checkin))
    assert refused.value.code == "offender_not_reporting"


def test_a_number_typed_at_the_counter_is_ignored(client_for, station_officer, offender):
    response = client_for(station_officer).post(
        "/api/v1/checkins/",
        {"offender": offender.pk, "location": AT_STATION.__dict__, "phone": "+923339999999"},
        format="json",
    )
    assert response.status_code == 201
    assert list(SmsMessage.objects.values_list("to_index", flat=True)) == [
        sms_to_index(offender.phone)
    ]
