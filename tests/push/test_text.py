"""Segment counting: GSM-7 160/153 with extension characters counting double and never split,
UCS-2 70/67 for Urdu, surrogate pairs never split."""

import pytest

from push.text import Encoding, encoding_of, segment_count

URDU = "آپ کا تصدیقی کوڈ"  # "your verification code"


@pytest.mark.parametrize(
    ("text", "units", "segments"),
    [
        ("a" * 160, 160, 1),
        ("a" * 161, 161, 2),
        ("a" * 306, 306, 2),
        ("a" * 307, 307, 3),
        ("€" * 80, 160, 1),  # an extension character is two septets
        ("€" * 81, 162, 2),
        ("a" * 159 + "€", 161, 2),
    ],
)
def test_gsm7_single_and_concatenated_limits(text, units, segments):
    count = segment_count(text)
    assert count.encoding is Encoding.GSM7
    assert (count.units, count.segments) == (units, segments)


def test_gsm7_extension_character_is_not_split_across_segments():
    # 152 plain septets then an escape pair: 154 septets do not fit in 153, the pair moves on.
    text = "a" * 152 + "{" + "a" * 152
    assert segment_count(text).segments == 3
    # The same count by division would say 2 (306 septets / 153).
    assert segment_count(text).units == 306


def test_gsm7_alphabet_covers_accented_and_greek_but_not_curly_quotes():
    assert encoding_of("Ça coûte £5 — ΔΩ") is Encoding.UCS2  # the em dash and û are not GSM
    assert encoding_of("Ça coute £5 - ΔΩ ñ ü é") is Encoding.GSM7
    assert encoding_of("“quoted”") is Encoding.UCS2


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("ک" * 70, 1),
        ("ک" * 71, 2),
        ("ک" * 134, 2),
        ("ک" * 135, 3),
    ],
)
def test_ucs2_single_and_concatenated_limits(text, segments):
    count = segment_count(text)
    assert count.encoding is Encoding.UCS2
    assert count.segments == segments


def test_urdu_text_is_ucs2_and_counted_in_utf16_units():
    text = f"{URDU} 482913 ہے۔ یہ کوڈ کسی کو نہ بتائیں۔"
    count = segment_count(text)
    assert count.encoding is Encoding.UCS2
    assert count.units == len(text)
    assert count.segments == 1
    assert segment_count(text * 2).segments == 2  # 104 units: 67 + 37


def test_one_urdu_letter_turns_a_latin_text_into_ucs2():
    count = segment_count("a" * 100 + "ک")
    assert (count.encoding, count.segments) == (Encoding.UCS2, 2)


def test_emoji_is_a_surrogate_pair_never_split():
    assert segment_count("😀").units == 2
    text = "ک" * 66 + "😀" + "ک" * 10  # 66 units, then a pair that does not fit in 67
    assert segment_count(text).segments == 2
    assert segment_count("ک" * 66 + "😀" + "ک" * 66).segments == 3
