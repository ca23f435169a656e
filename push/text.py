"""SMS encoding and segment counting (3GPP TS 23.038 / 23.040), with no Django in it.

A text is sent in GSM-7 when every character is in the GSM 03.38 default alphabet or its
extension table, otherwise in UCS-2 (Urdu always is). One message holds 160 septets in GSM-7 or
70 UTF-16 code units in UCS-2; a longer text is split into concatenated segments whose user data
header leaves 153 septets or 67 units each. An extension character (``€ [ ] { } ^ ~ | \\`` and
form feed) is an escape plus a character, two septets that a segment boundary may not split; a
character outside the Basic Multilingual Plane (an emoji) is a surrogate pair, two units that may
not be split either. Segments are therefore filled greedily rather than computed by division, as
the gateway's encoder does: a division would undercount texts that end a segment on a pair.
"""

from dataclasses import dataclass
from enum import StrEnum

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class SegmentCount:
    """How a text travels: its encoding, its length in that encoding's units (septets or UTF-16
    code units) and how many SMS segments the network bills."""

    encoding: Encoding
    units: int
    segments: int


def encoding_of(text: str) -> Encoding:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        return Encoding.GSM7
    return Encoding.UCS2


def _unit_widths(text: str, encoding: Encoding) -> list[int]:
    if encoding is Encoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _segments(widths: list[int], *, single: int, multi: int) -> int:
    total = sum(widths)
    if total <= single:
        return 1
    segments, used = 1, 0
    for width in widths:
        if used + width > multi:  # an escape sequence or surrogate pair never straddles
            segments += 1
            used = 0
        used += width
    return segments


def segment_count(text: str) -> SegmentCount:
    """The encoding, units and segments of ``text``. An empty text is one (empty) segment."""
    encoding = encoding_of(text)
    widths = _unit_widths(text, encoding)
    if encoding is Encoding.GSM7:
        segments = _segments(widths, single=GSM7_SINGLE, multi=GSM7_MULTI)
    else:
        segments = _segments(widths, single=UCS2_SINGLE, multi=UCS2_MULTI)
    return SegmentCount(encoding=encoding, units=sum(widths), segments=segments)
