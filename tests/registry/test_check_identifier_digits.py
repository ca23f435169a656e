"""``check_identifier_digits`` finds records stored before the digit fix, never printing them."""

import io

import pytest
from django.core.management import CommandError, call_command

from registry.identifiers import cnic_blind_index
from tests.factories import OffenderFactory

pytestmark = pytest.mark.django_db

URDU_CNIC = "3۵۲۰۲-۱۲۳۴۵۶۷-۱"  # how the old normaliser stored "3۵۲۰۲۱۲۳۴۵۶۷۱"
URDU_PHONE = "+92۳۰۰۱۲۳۴۵۶۷"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("check_identifier_digits", *args, stdout=out)
    return out.getvalue()


def test_records_stored_with_urdu_digits_are_reported_by_id_without_their_values(world):
    clean = OffenderFactory(
        district=world.lahore,
        cnic="35202-1234567-1",
        cnic_index=cnic_blind_index("35202-1234567-1"),
    )
    twin = OffenderFactory(
        district=world.lahore, cnic=URDU_CNIC, cnic_index=cnic_blind_index(URDU_CNIC)
    )
    phone_only = OffenderFactory(district=world.kasur, phone=URDU_PHONE)

    output = _run()

    assert f"offender #{twin.pk}: cnic stored in a non-canonical form" in output
    assert f"also registered as offender #{clean.pk}" in output
    assert f"offender #{phone_only.pk}: phone stored in a non-canonical form" in output
    assert f"offender #{clean.pk}:" not in output
    assert "3 record(s) checked, 2 finding(s)." in output
    for secret in (URDU_CNIC, URDU_PHONE, "35202-1234567-1", "1234567", "۱۲۳۴۵۶۷", "+923001234567"):
        assert secret not in output


def test_strict_fails_only_when_something_is_found(world):
    OffenderFactory(district=world.lahore)
    assert "0 finding(s)" in _run("--strict")
    OffenderFactory(district=world.lahore, cnic=URDU_CNIC, cnic_index="x")
    with pytest.raises(CommandError):
        _run("--strict")
