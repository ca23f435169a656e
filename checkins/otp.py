"""One-time codes of check-in challenges: HOTP (RFC 4226) through pyotp. Pure: no Django.

A challenge has its own random secret; each SMS sent for it uses the next counter value, so a
resend makes every earlier code worthless (only the code of the current counter verifies).
Codes are compared in constant time; whether a code was already used is the caller's state
(the challenge ends, and its secret is erased, on the first success).
"""

import hmac

import pyotp

DIGITS = 6


def new_secret() -> str:
    """A fresh random base32 secret (160 bits) for one challenge."""
    return pyotp.random_base32(length=32)


def code_at(secret: str, counter: int) -> str:
    """The six-digit code of ``counter``."""
    return pyotp.HOTP(secret, digits=DIGITS).at(counter)


def looks_like_code(value: str) -> bool:
    return len(value) == DIGITS and value.isascii() and value.isdigit()


def code_matches(secret: str, counter: int, code: str) -> bool:
    """Whether ``code`` is the code of ``counter`` (and only that counter), in constant time."""
    code = (code or "").strip()
    if not looks_like_code(code):
        return False
    return hmac.compare_digest(code_at(secret, counter).encode(), code.encode())
