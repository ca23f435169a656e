"""Texts of the check-in SMS, in Urdu and English, and the masked phone hint. Pure: no Django.

Reminders carry no name and no CNIC (an SMS can be read by whoever holds the phone); the OTP
text carries the code and its lifetime only.
"""

from datetime import date

LANGUAGES = ("ur", "en")

_OTP = {
    # One UCS-2 segment (70 characters) with the code in it.
    "ur": "نگرانی: حاضری کوڈ {code}۔ {minutes} منٹ میں ختم۔ صرف تھانے کے افسر کو بتائیں۔",
    "en": "Nigrani: your check-in code is {code}. It expires in {minutes} minutes. "
    "Tell it only to the station officer.",
}
_NOTICE_OTP = {
    "ur": "نگرانی: اطلاع کی تصدیق کا کوڈ {code}۔ {minutes} منٹ میں ختم۔ "
    "صرف تھانے کے افسر کو بتائیں۔",
    "en": "Nigrani: your code to confirm a notice of change is {code}. It expires in {minutes} "
    "minutes. Tell it only to the station officer.",
}
_REMINDER = {
    "ur": "نگرانی: آپ کو {due} تک اپنے تھانے میں حاضری دینی ہے ({days} دن باقی)۔",
    "en": "Nigrani: you must report at your police station by {due} ({days} day(s) left).",
}
_REMINDER_TODAY = {
    "ur": "نگرانی: آج {due} آپ کی تھانے میں حاضری کا آخری دن ہے۔",
    "en": "Nigrani: today, {due}, is the last day to report at your police station.",
}


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unknown SMS language {language!r}; one of {', '.join(LANGUAGES)}")
    return language


def otp_text(*, code: str, minutes: int, language: str) -> str:
    return _OTP[_language(language)].format(code=code, minutes=minutes)


def notice_otp_text(*, code: str, minutes: int, language: str) -> str:
    return _NOTICE_OTP[_language(language)].format(code=code, minutes=minutes)


def reminder_text(*, due_on: date, days_left: int, language: str) -> str:
    templates = _REMINDER_TODAY if days_left <= 0 else _REMINDER
    return templates[_language(language)].format(due=due_on.strftime("%d-%m-%Y"), days=days_left)


def phone_hint(phone: str) -> str:
    """``+923001234567`` → ``+92 3** ***4567``: enough for the offender to recognise the number
    the code went to, too little to learn it. Anything but a Pakistani E.164 mobile number is
    masked whole."""
    if len(phone) != 13 or not phone.startswith("+923") or not phone[1:].isdigit():
        return "*" * len(phone)
    return f"+92 3** ***{phone[-4:]}"
