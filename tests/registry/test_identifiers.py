"""CNIC, phone and section normalisation, masking and the CNIC blind index."""

import pytest
from django.core.exceptions import ValidationError

from registry.identifiers import (
    cnic_blind_index,
    mask_cnic,
    mask_phone,
    normalise_cnic,
    normalise_phone,
    validate_sections,
)


@pytest.mark.parametrize(
    "value", ["35202-1234567-1", "3520212345671", "35202 1234567 1", "  35202-1234567-1 "]
)
def test_cnic_forms_normalise_to_the_dashed_form(value):
    assert normalise_cnic(value) == "35202-1234567-1"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "35202-1234567",  # 12 digits
        "35202-12345678-1",  # 14 digits
        "352021-234567-1",  # dashes in the wrong places
        "05202-1234567-1",  # no province 0
        "95202-1234567-1",  # no province 9
        "35202-123456A-1",
        "35202/1234567/1",
    ],
)
def test_malformed_cnic_is_rejected_without_echoing_it(value):
    with pytest.raises(ValidationError) as caught:
        normalise_cnic(value)
    assert "12345-1234567-1" in caught.value.messages[0]
    if value:
        assert value.strip() not in caught.value.messages[0]


@pytest.mark.parametrize(
    "value",
    [
        "03001234567",
        "0300-1234567",
        "0300 1234567",
        "+923001234567",
        "+92 300 1234567",
        "923001234567",
        "00923001234567",
    ],
)
def test_mobile_forms_normalise_to_e164(value):
    assert normalise_phone(value) == "+923001234567"


@pytest.mark.parametrize(
    "value", ["", "0421234567", "04235761234", "+924235761234", "0300123456", "030012345678"]
)
def test_non_mobile_numbers_are_rejected(value):
    with pytest.raises(ValidationError):
        normalise_phone(value)


def test_sections_are_normalised_deduplicated_and_kept_in_order():
    assert validate_sections(
        ["376 PPC", "PPC 376", "s. 375-A PPC", "377b", "PECA 21", "22", "u/s 292-C PPC"]
    ) == ["PPC 376", "PPC 375A", "PPC 377B", "PECA 21", "PECA 22", "PPC 292C"]


@pytest.mark.parametrize(
    "values",
    [[], ["PPC 302"], ["PPC 21"], ["PECA 376"], ["PPC 376 PPC"], ["rape"], "PPC 376"],
)
def test_unscheduled_or_malformed_sections_are_rejected(values):
    with pytest.raises(ValidationError):
        validate_sections(values)


def test_section_errors_say_which_entry_is_wrong():
    with pytest.raises(ValidationError) as caught:
        validate_sections(["PPC 376", "PPC 302"])
    assert caught.value.messages[0].startswith("[1] ")


def test_masks_keep_area_sex_digit_and_network_only():
    assert mask_cnic("35202-1234567-1") == "35202-*******-1"
    assert mask_phone("+923001234567") == "+92300****567"


def test_blind_index_is_deterministic_per_cnic_and_reveals_nothing(settings):
    first = cnic_blind_index("35202-1234567-1")

    assert first == cnic_blind_index("35202-1234567-1")
    assert first != cnic_blind_index("35202-1234567-3")
    assert "1234567" not in first
    assert len(first) == 64


# --- digits of any script -----------------------------------------------------------------

URDU = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")  # Extended Arabic-Indic (Urdu keyboards)
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")  # Arabic-Indic


@pytest.mark.parametrize(
    "value",
    [
        "3۵۲۰۲۱۲۳۴۵۶۷۱",  # the example: ASCII and Urdu mixed
        "35202-1234567-1".translate(URDU),
        "3520212345671".translate(ARABIC),
        "۳۵۲۰۲ ۱۲۳۴۵۶۷ ۱",
        "\u200f۳۵۲۰۲-۱۲۳۴۵۶۷-۱\u200f",  # right-to-left marks an Urdu keyboard adds
        "35202\u20131234567\u20131",  # en dashes
        "３５２０２－１２３４５６７－１",  # full-width digits and dash
        "\u00a035202 1234567 1",  # no-break space
    ],
)
def test_cnic_in_any_script_normalises_to_one_ascii_form_and_one_blind_index(value, settings):
    assert normalise_cnic(value) == "35202-1234567-1"
    assert normalise_cnic(value).isascii()
    assert cnic_blind_index(normalise_cnic(value)) == cnic_blind_index("35202-1234567-1")


@pytest.mark.parametrize(
    "value",
    [
        "3520212345６7¹",  # superscript one
        "③5202-1234567-1",  # circled three
        "35202-1234567-Ⅰ",  # Roman numeral one
        "35202-123456½-1",
    ],
)
def test_cnic_digit_lookalikes_are_refused_clearly(value):
    with pytest.raises(ValidationError) as caught:
        normalise_cnic(value)
    assert caught.value.code == "invalid_cnic"
    assert "digits 0–9" in caught.value.messages[0]
    assert "Urdu" in caught.value.messages[0]


def test_thirteen_urdu_digits_with_a_bad_province_are_still_refused():
    with pytest.raises(ValidationError):
        normalise_cnic("05202-1234567-1".translate(URDU))


@pytest.mark.parametrize(
    "value",
    [
        "0300-1234567".translate(URDU),
        "+92300123456۷",
        "٠٣٠٠١٢٣٤٥٦٧",
        "+92 300 1234567".translate(ARABIC),
        "\u200e0300\u20111234567",  # left-to-right mark, non-breaking hyphen
    ],
)
def test_mobile_in_any_script_normalises_to_ascii_e164(value):
    assert normalise_phone(value) == "+923001234567"
    assert normalise_phone(value).isascii()


@pytest.mark.parametrize("value", ["0300123456²", "⓪300-1234567"])
def test_mobile_digit_lookalikes_are_refused_clearly(value):
    with pytest.raises(ValidationError) as caught:
        normalise_phone(value)
    assert caught.value.code == "invalid_phone"
    assert "digits 0–9" in caught.value.messages[0]
