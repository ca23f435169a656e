"""The receipt's SMS text: both languages, the segment count, nothing identifying."""

from datetime import datetime

import pytest

from push.receipt_text import WHAT, receipt_printed, receipt_sms_text
from push.text import Encoding, segment_count

AT = datetime(2026, 3, 10, 10, 5)


@pytest.mark.parametrize("kind", sorted(WHAT))
def test_english_receipt_is_gsm7_in_at_most_two_segments(kind):
    text = receipt_sms_text(
        reference="AB12-CD34", kind=kind, recorded_at_local=AT, station="Lahore A", language="en"
    )
    assert "AB12-CD34" in text
    assert "10-03-2026 10:05" in text
    assert "Lahore A" in text
    count = segment_count(text)
    assert count.encoding is Encoding.GSM7
    assert count.segments <= 2


@pytest.mark.parametrize("kind", sorted(WHAT))
def test_urdu_receipt_is_ucs2_in_at_most_three_segments(kind):
    text = receipt_sms_text(
        reference="AB12-CD34", kind=kind, recorded_at_local=AT, station="Lahore A", language="ur"
    )
    assert "AB12-CD34" in text
    assert "نگرانی" in text
    assert WHAT[kind]["ur"] in text
    count = segment_count(text)
    assert count.encoding is Encoding.UCS2
    assert count.segments <= 3


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown SMS language"):
        receipt_sms_text(
            reference="X", kind="checkin", recorded_at_local=AT, station="S", language="fr"
        )


def test_the_printed_receipt_has_both_languages():
    printed = receipt_printed(
        reference="AB12-CD34", kind="checkin", recorded_at_local=AT, station="Lahore A"
    )
    assert "check-in" in printed.en
    assert "حاضری" in printed.ur
