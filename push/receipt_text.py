"""Texts of the offender's receipts, in Urdu and English. Pure: no Django.

A receipt says what was recorded, when, at which station, and the reference to quote. It never
holds a CNIC, a name or the new values the offender reported (an address, a phone): an SMS is
read by whoever holds the phone, and the reference is enough to settle a dispute at the counter.
"""

from dataclasses import dataclass
from datetime import datetime

LANGUAGES = ("ur", "en")

# What was recorded, by receipt kind.
WHAT: dict[str, dict[str, str]] = {
    "notice_name_change": {"en": "notice of a change of name", "ur": "نام کی تبدیلی کا نوٹس"},
    "notice_address_change": {"en": "notice of a change of address", "ur": "پتے کی تبدیلی کا نوٹس"},
    "notice_phone_change": {"en": "notice of a change of phone", "ur": "فون کی تبدیلی کا نوٹس"},
    "notice_employment_change": {
        "en": "notice of a change of employment",
        "ur": "ملازمت کی تبدیلی کا نوٹس",
    },
    "notice_domestic_travel": {
        "en": "notice of travel in Pakistan",
        "ur": "اندرون ملک سفر کا نوٹس",
    },
    "notice_international_travel": {"en": "notice of travel abroad", "ur": "بیرون ملک سفر کا نوٹس"},
    "checkin": {"en": "check-in", "ur": "حاضری"},
    "checkin_override": {
        "en": "check-in (confirmed by two officers)",
        "ur": "حاضری (دو افسران کی تصدیق)",
    },
}

_SMS = {
    "en": "Nigrani receipt {reference}: your {what} was recorded on {at} at {station}. "
    "Quote {reference} if asked.",
    "ur": "نگرانی رسید {reference}: آپ کی {what} {at} کو {station} میں درج ہوئی۔ "
    "پوچھے جانے پر {reference} بتائیں۔",
}


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unknown SMS language {language!r}; one of {', '.join(LANGUAGES)}")
    return language


def what_text(*, kind: str, language: str) -> str:
    return WHAT[kind][_language(language)]


def receipt_sms_text(
    *, reference: str, kind: str, recorded_at_local: datetime, station: str, language: str
) -> str:
    """The SMS text of one receipt; ``recorded_at_local`` is already in Pakistan time."""
    return _SMS[_language(language)].format(
        reference=reference,
        what=what_text(kind=kind, language=language),
        at=recorded_at_local.strftime("%d-%m-%Y %H:%M"),
        station=station,
    )


@dataclass(frozen=True)
class PrintedReceipt:
    """The two language versions of a receipt, for the printable page."""

    en: str
    ur: str


def receipt_printed(
    *, reference: str, kind: str, recorded_at_local: datetime, station: str
) -> PrintedReceipt:
    texts = {
        language: receipt_sms_text(
            reference=reference,
            kind=kind,
            recorded_at_local=recorded_at_local,
            station=station,
            language=language,
        )
        for language in LANGUAGES
    }
    return PrintedReceipt(en=texts["en"], ur=texts["ur"])
