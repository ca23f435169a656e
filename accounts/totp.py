"""TOTP (RFC 6238) and recovery codes: pure computation, no Django.

A code is accepted for the current 30-second step and one step either side (clock drift of a
phone in the field); the caller decides whether the matching step was already used, so a code
works once.
"""

import base64
import hmac
import secrets
import string

import pyotp
import qrcode
import qrcode.image.svg

STEP_SECONDS = 30
DIGITS = 6
WINDOW_STEPS = 1
RECOVERY_CODE_COUNT = 10
# Lower-case letters and digits without the look-alikes 0/o and 1/l: codes are read off paper.
_RECOVERY_ALPHABET = "".join(c for c in string.ascii_lowercase + string.digits if c not in "0o1l")
_RECOVERY_HALF = 5


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(length=32)


def time_step(timestamp: float) -> int:
    """The TOTP counter for a Unix timestamp."""
    return int(timestamp // STEP_SECONDS)


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def looks_like_totp(value: str) -> bool:
    return len(value) == DIGITS and value.isascii() and value.isdigit()


def matching_step(
    secret: str, code: str, *, timestamp: float, window: int = WINDOW_STEPS
) -> int | None:
    """The step within ``window`` of ``timestamp`` whose code equals ``code``, else None.

    Every candidate is compared in constant time, so timing does not say which step was close.
    """
    code = code.strip()
    if not looks_like_totp(code):
        return None
    current = time_step(timestamp)
    found: int | None = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(code_at_step(secret, step), code) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, *, account_name: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app imports."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def qr_svg_data_uri(text: str) -> str:
    """``text`` as a QR code in an SVG ``data:`` URI, ready for an ``<img src>``."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode("ascii")


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``count`` codes like ``k7m2q-x9fzt`` (about 49 bits each)."""

    def half() -> str:
        return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_HALF))

    return [f"{half()}-{half()}" for _ in range(count)]


def normalize_recovery_code(value: str) -> str:
    """What is hashed and compared: case, spaces and dashes do not matter when typing."""
    return "".join(c for c in value.lower() if c.isalnum())
