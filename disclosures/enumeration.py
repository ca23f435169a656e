"""The public SMS check's pure rules: finding a CNIC in a message and the anti-enumeration
detectors. No Django: the service feeds them counts and numbers it read.

A CNIC's ``serial`` is its 13 digits read as one number: two CNICs issued one after the other in
an area differ by 10 (the last digit is the holder's sex), so an enumerator walking the
7-digit part produces serials a few tens apart.
"""

import re

# 13 digits, with the usual dashes or spaces, not inside a longer run of digits.
_CNIC_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{5})[- ]?([0-9]{7})[- ]?([0-9])(?![0-9])")


def find_cnic_digits(folded_text: str) -> str | None:
    """The first 13-digit CNIC-shaped number in a message whose digits are already ASCII.

    Whether it is a *valid* CNIC is not decided here, nor anywhere on the reply's path: a
    number no one was issued and a number not on the register must be answered alike."""
    match = _CNIC_IN_TEXT.search(folded_text)
    return "".join(match.groups()) if match else None


def canonical_form(digits: str) -> str:
    """``12345-1234567-1`` whatever the digits: the form whose blind index the register keeps."""
    return f"{digits[:5]}-{digits[5:12]}-{digits[12]}"


def is_sequential(previous: list[int], serial: int, *, gap: int, run: int) -> bool:
    """True when ``serial`` and at least ``run - 1`` of the sender's previous CNICs lie within
    ``gap`` of one another (a chain), i.e. the sender is walking a range."""
    near = sorted({s for s in previous if s != serial} | {serial})
    chain = [serial]
    for direction in (-1, 1):
        current = serial
        candidates = sorted(
            (s for s in near if (s - serial) * direction > 0), key=lambda s: abs(s - serial)
        )
        for candidate in candidates:
            if abs(candidate - current) <= gap:
                chain.append(candidate)
                current = candidate
            else:
                break
    return len(chain) >= run


def hit_rate_far_above(
    *, hits: int, checks: int, base_rate: float, factor: float, min_checks: int
) -> bool:
    """True when the sender found registrants far more often than the public does: at least
    ``min_checks`` checks, two hits or more, and a hit rate above ``factor`` × the base rate."""
    if checks < min_checks or hits < 2:
        return False
    return hits / checks > factor * base_rate
