"""Helpers for sign-in tests: a frozen clock, enrolled authenticators, codes for any moment."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import timezone

from accounts import totp
from accounts.models import Officer, TOTPDevice
from tests.conftest import PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
# Ten seconds into a 30-second step, so a test's own run time never crosses a step boundary.
START = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Time stands still at START until a test moves it (``clock.shift(seconds)``)."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def code_now(secret: str, *, steps: int = 0) -> str:
    """The authenticator's code for now, or ``steps`` steps away."""
    return totp.code_at_step(secret, totp.time_step(timezone.now().timestamp()) + steps)


@pytest.fixture
def enrol() -> Callable[[Officer], str]:
    """``enrol(officer)``: give the officer a confirmed authenticator; returns its secret."""

    def _enrol(officer: Officer) -> str:
        secret = totp.new_secret()
        TOTPDevice.objects.create(officer=officer, secret=secret, confirmed_at=timezone.now())
        return secret

    return _enrol


def token_request(
    client,
    username: str,
    otp: str,
    *,
    password: str = PASSWORD,
    device_id: str = "phone-1",
    **extra,
):
    return client.post(
        TOKEN_URL,
        {
            "username": username,
            "password": password,
            "otp": otp,
            "device_id": device_id,
            "device_name": "Samsung A12",
        },
        format="json",
        **extra,
    )
