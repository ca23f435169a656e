"""Fixtures of the push tests: the local fake gateway and the http backend pointed at it."""

import json

import pytest
from django.db import connection

from push import services
from push.models import Notification
from tests.push.fake_gateway import API_KEY, start_fake_gateway, stop_fake_gateway

NUMBER = "+923001234567"
OTHER_NUMBER = "+923217654321"


@pytest.fixture
def fake_gateway():
    gateway = start_fake_gateway()
    yield gateway
    stop_fake_gateway(gateway)


@pytest.fixture
def http_backend(settings, fake_gateway):
    """The http backend against the fake gateway, with a short timeout so ``slow`` times out."""
    settings.NIGRANI_SMS_BACKEND = "http"
    settings.NIGRANI_SMS_HTTP_URL = fake_gateway.url
    settings.NIGRANI_SMS_HTTP_API_KEY = API_KEY
    settings.NIGRANI_SMS_SENDER_ID = "NIGRANI"
    settings.NIGRANI_SMS_HTTP_TIMEOUT_SECONDS = 0.5
    settings.NIGRANI_SMS_MAX_ATTEMPTS = 4
    settings.NIGRANI_SMS_RETRY_BASE_SECONDS = 5
    fake_gateway.slow_seconds = 1.0
    return fake_gateway


def delivery_jobs(message_id: int) -> list[tuple[str, object]]:
    """(status, scheduled_at) of the procrastinate delivery jobs of one message."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, scheduled_at FROM procrastinate_jobs "
            "WHERE task_name = 'push.deliver_sms' AND args = %s::jsonb ORDER BY id",
            [json.dumps({"message_id": message_id})],
        )
        return cursor.fetchall()


URL = "/api/v1/notifications/"


def notify(officer, n: int = 1, kind: str = "checkin_locked") -> list[Notification]:
    return [
        services.notify_officers(
            officers=[officer],
            kind=kind,
            text=f"An OTP challenge locked ({i}).",
            object_type="checkin_challenge",
            object_id=i,
        )[0]
        for i in range(n)
    ]
