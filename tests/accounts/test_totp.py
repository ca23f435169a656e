"""The pure TOTP module: steps, the ±1 window, URIs, QR codes and recovery codes."""

import base64

import pyotp

from accounts import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T = 1_772_442_010.0  # ten seconds into a step


def test_code_of_the_current_step_matches_that_step():
    step = totp.time_step(T)

    assert totp.matching_step(SECRET, totp.code_at_step(SECRET, step), timestamp=T) == step


def test_codes_agree_with_a_standard_authenticator():
    assert totp.code_at_step(SECRET, totp.time_step(T)) == pyotp.TOTP(SECRET).at(T)


def test_codes_one_step_either_side_are_accepted():
    step = totp.time_step(T)

    for offset in (-1, 1):
        code = totp.code_at_step(SECRET, step + offset)
        assert totp.matching_step(SECRET, code, timestamp=T) == step + offset


def test_codes_two_steps_away_are_refused():
    step = totp.time_step(T)

    for offset in (-2, 2):
        assert (
            totp.matching_step(SECRET, totp.code_at_step(SECRET, step + offset), timestamp=T)
            is None
        )


def test_malformed_codes_never_match():
    for code in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert totp.matching_step(SECRET, code, timestamp=T) is None


def test_provisioning_uri_names_the_issuer_and_the_account():
    uri = totp.provisioning_uri(SECRET, account_name="beat-officer", issuer="Nigrani")

    assert uri.startswith("otpauth://totp/Nigrani:beat-officer?")
    assert f"secret={SECRET}" in uri
    assert "issuer=Nigrani" in uri


def test_qr_code_is_an_svg_data_uri():
    data_uri = totp.qr_svg_data_uri("otpauth://totp/x?secret=ABC")

    prefix = "data:image/svg+xml;base64,"
    assert data_uri.startswith(prefix)
    assert base64.b64decode(data_uri[len(prefix) :]).startswith(b"<svg")


def test_new_secrets_are_fresh_base32():
    first, second = totp.new_secret(), totp.new_secret()

    assert first != second
    assert len(base64.b32decode(first)) == 20


def test_recovery_codes_are_ten_distinct_readable_codes():
    codes = totp.new_recovery_codes()

    assert len(set(codes)) == 10
    for code in codes:
        assert len(code) == 11
        assert code[5] == "-"
        assert not set(code) & set("0o1l")


def test_recovery_code_typing_does_not_matter():
    assert totp.normalize_recovery_code(" K7M2Q-X9FZT ") == "k7m2qx9fzt"
    assert totp.normalize_recovery_code("k7m2q x9fzt") == "k7m2qx9fzt"
