"""The pure modules: OTP codes, SMS texts and the phone hint, the station boundary."""

from datetime import date

import pyotp
import pytest

from checkins import boundary, messages, otp
from tests.factories import square

STATION = square(74.0, 31.0, 0.5)


def test_each_challenge_has_its_own_secret():
    assert otp.new_secret() != otp.new_secret()
    assert len(otp.new_secret()) == 32


def test_codes_are_six_digit_hotp_per_counter():
    secret = otp.new_secret()
    codes = [otp.code_at(secret, counter) for counter in range(3)]
    assert codes == [pyotp.HOTP(secret).at(counter) for counter in range(3)]
    assert all(len(code) == 6 and code.isdigit() for code in codes)


def test_only_the_current_counters_code_matches():
    secret = otp.new_secret()
    first, second = otp.code_at(secret, 0), otp.code_at(secret, 1)
    assert otp.code_matches(secret, 1, second)
    assert not otp.code_matches(secret, 1, first)
    assert otp.code_matches(secret, 1, f" {second} ")


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_never_match(code):
    assert not otp.code_matches(otp.new_secret(), 0, code)


def test_phone_hint_masks_all_but_the_last_four_digits():
    assert messages.phone_hint("+923001234567") == "+92 3** ***4567"
    assert messages.phone_hint("+923451112233") == "+92 3** ***2233"
    assert messages.phone_hint("+44207123456") == "************"
    assert messages.phone_hint("") == ""


def test_otp_text_has_the_code_and_minutes_only():
    for language in messages.LANGUAGES:
        text = messages.otp_text(code="482913", minutes=5, language=language)
        assert "482913" in text
        assert "5" in text
    with pytest.raises(ValueError, match="unknown SMS language"):
        messages.otp_text(code="1", minutes=5, language="fr")


def test_reminder_text_says_when():
    text = messages.reminder_text(due_on=date(2026, 4, 9), days_left=7, language="en")
    assert "09-04-2026" in text
    assert "7 day" in text
    today = messages.reminder_text(due_on=date(2026, 4, 9), days_left=0, language="en")
    assert "today" in today


def test_inside_the_area_is_distance_zero():
    assert boundary.distance_to_area_m(STATION, 74.25, 31.25) == 0


def test_distance_outside_is_in_metres():
    # 0.001° of longitude at 31.25° N is about 95 m.
    distance = boundary.distance_to_area_m(STATION, 74.501, 31.25)
    assert 90 < distance < 100


def test_tolerance_is_the_fix_accuracy_up_to_the_cap():
    point = {"lon": 74.501, "lat": 31.25}
    assert not boundary.is_within_station(STATION, **point, accuracy_m=50, cap_m=150)
    assert boundary.is_within_station(STATION, **point, accuracy_m=100, cap_m=150)
    assert not boundary.is_within_station(STATION, **point, accuracy_m=5000, cap_m=60)
