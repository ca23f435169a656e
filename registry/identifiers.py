"""Identifiers of the register: CNIC, mobile number, offence sections. Pure functions.

Every function either returns the one canonical form or raises a Django ``ValidationError``
with a message that names the expected format and never echoes the value back (an error
message can reach a log).
"""

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError

from common.crypto import settings_blind_index

# Patterns spell digits [0-9]: Python's \d also matches Urdu and every other script's digits,
# which would let "3۵۲۰۲…" through unfolded and give one person two blind indexes.
# 13 digits; the first is the province of issue (1 KP … 7 Gilgit-Baltistan, DOMAIN.md).
_CNIC_PLAIN = re.compile(r"^[1-7][0-9]{12}$")
_CNIC_SEPARATED = re.compile(r"^([1-7][0-9]{4})[- ]([0-9]{7})[- ]([0-9])$")
_CNIC_DIGITS_ANYWHERE = re.compile(r"^[0-9]{13}$")

# Pakistani mobile numbers: 03XX XXXXXXX locally, +92 3XX XXXXXXX in E.164.
_PHONE_FORMS = (
    re.compile(r"^0(3[0-9]{9})$"),
    re.compile(r"^\+92(3[0-9]{9})$"),
    re.compile(r"^92(3[0-9]{9})$"),
    re.compile(r"^0092(3[0-9]{9})$"),
)
_PHONE_SEPARATORS = re.compile(r"[ \-().]")
_MINUS_SIGN = "\u2212"

# The offences that put someone on the register (Anti-Rape Act 2021, s. 24; DOMAIN.md).
SCHEDULE: dict[str, frozenset[str]] = {
    "PPC": frozenset(
        {"375", "375A", "376", "377", "377A", "377B", "371A", "371B", "292A", "292B", "292C"}
    ),
    "PECA": frozenset({"21", "22"}),
}
SCHEDULED_SECTIONS: tuple[str, ...] = tuple(
    f"{act} {number}" for act, numbers in SCHEDULE.items() for number in sorted(numbers)
)
_ACT_ALIASES = {"PPC": "PPC", "PECA": "PECA", "PECA2016": "PECA"}
_SECTION_NOISE = re.compile(r"\b(?:SECTIONS?|SEC|U/S|S)\b\.?|[.,()]")
_SECTION_PARTS = re.compile(r"^(?:([A-Z]+)\s*)?(\d{2,3})\s*-?\s*([A-C]?)\s*(?:([A-Z]+))?$")


def fold_digits(value: str, *, what: str, code: str) -> str:
    """``value`` with every Unicode decimal digit (Urdu ``۵``, Arabic-Indic ``٥``, Devanagari,
    full-width …) as its ASCII digit, any dash as ``-``, any space as a space and invisible
    format marks (the direction marks an Urdu keyboard types) dropped.

    Other characters with a numeric value (superscripts, circled or Roman numerals, fractions)
    are look-alikes, not digits: refused with a message naming the accepted digits. Anything
    else is left for the caller's pattern to refuse."""
    folded: list[str] = []
    for char in str(value or ""):
        if char.isascii():
            folded.append(char)
        elif char.isdecimal():
            folded.append(str(unicodedata.decimal(char)))
        elif char == _MINUS_SIGN or unicodedata.category(char) == "Pd":
            folded.append("-")
        elif char.isspace():
            folded.append(" ")
        elif unicodedata.category(char) == "Cf":
            continue
        elif char.isnumeric():
            raise ValidationError(
                f"{what} is written in the digits 0–9 (Urdu and Arabic-Indic digits are "
                "accepted too); superscript, circled, Roman or other numeral signs are not.",
                code=code,
            )
        else:
            folded.append(char)
    return "".join(folded).strip()


def normalise_cnic(value: str) -> str:
    """``3520212345671``, ``35202-1234567-1`` or ``35202 1234567 1`` (in any script's digits)
    → ``35202-1234567-1``, always ASCII."""
    text = fold_digits(value, what="A CNIC", code="invalid_cnic")
    if _CNIC_PLAIN.match(text):
        digits = text
    elif match := _CNIC_SEPARATED.match(text):
        digits = "".join(match.groups())
    else:
        if _CNIC_DIGITS_ANYWHERE.match(re.sub(r"[- ]", "", text)):
            message = (
                "A CNIC is 13 digits written 12345-1234567-1; the first digit must be 1–7 "
                "and dashes, if any, go after the 5th and 12th digits."
            )
        else:
            message = "A CNIC is 13 digits, written 12345-1234567-1."
        raise ValidationError(message, code="invalid_cnic")
    return f"{digits[:5]}-{digits[5:12]}-{digits[12]}"


def cnic_blind_index(cnic_normalised: str) -> str:
    """The HMAC blind index of a normalised CNIC: the only way the register looks a CNIC up."""
    return settings_blind_index(cnic_normalised, purpose="cnic")


def normalise_phone(value: str) -> str:
    """A Pakistani mobile number in any usual form (in any script's digits) → E.164
    ``+923XXXXXXXXX``, always ASCII."""
    folded = fold_digits(value, what="A mobile number", code="invalid_phone")
    text = _PHONE_SEPARATORS.sub("", folded)
    for form in _PHONE_FORMS:
        if match := form.match(text):
            return f"+92{match.group(1)}"
    raise ValidationError(
        "A Pakistani mobile number is expected: 03XX-XXXXXXX or +923XXXXXXXXX.",
        code="invalid_phone",
    )


def normalise_section(value: str) -> str:
    """``PPC 376``, ``376 PPC``, ``s. 376-A PPC``, ``377b`` or ``PECA 21`` → ``PPC 376`` /
    ``PPC 376A`` / ``PECA 21``. A bare number is accepted where the schedule is unambiguous
    (PPC and PECA numbers do not overlap)."""
    text = _SECTION_NOISE.sub(" ", str(value or "").upper())
    text = re.sub(r"\s+", " ", text).strip()
    match = _SECTION_PARTS.match(text)
    if match is None:
        raise ValidationError("Write a section as 'PPC 376' or 'PECA 21'.", code="invalid_section")
    before, number, letter, after = match.groups()
    if before and after:
        raise ValidationError("Name the act once: 'PPC 376'.", code="invalid_section")
    act_word = before or after
    section = f"{number}{letter}"
    if act_word is None:
        acts = [act for act, numbers in SCHEDULE.items() if section in numbers]
        act = acts[0] if len(acts) == 1 else None
    else:
        act = _ACT_ALIASES.get(act_word)
    if act is None or section not in SCHEDULE[act]:
        raise ValidationError(
            f"Not a scheduled offence; the schedule is {', '.join(SCHEDULED_SECTIONS)}.",
            code="unscheduled_section",
        )
    return f"{act} {section}"


def validate_sections(values: Any) -> list[str]:
    """Every section normalised and checked against the schedule; at least one, no repeats.

    Raises one ``ValidationError`` listing each bad entry by position (``[1] …``)."""
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise ValidationError("A list of sections is expected.", code="invalid_sections")
    if not values:
        raise ValidationError("At least one scheduled section is required.", code="required")
    normalised: list[str] = []
    messages: list[str] = []
    for position, value in enumerate(values):
        try:
            section = normalise_section(value)
        except ValidationError as exc:
            messages += [f"[{position}] {message}" for message in exc.messages]
            continue
        if section not in normalised:
            normalised.append(section)
    if messages:
        raise ValidationError(messages, code="invalid_sections")
    return normalised


def mask_cnic(cnic: str) -> str:
    """``35202-1234567-1`` → ``35202-*******-1``: the area and the sex digit, not the person."""
    if len(cnic) != 15:
        return "*" * len(cnic)
    return f"{cnic[:6]}*******{cnic[-2:]}"


def mask_phone(phone: str) -> str:
    """``+923001234567`` → ``+92300****567``: the network and enough to recognise it."""
    if len(phone) != 13:
        return "*" * len(phone)
    return f"{phone[:6]}****{phone[-3:]}"
