"""SMS outbox figures: segment counting, enqueue, and delivery through the http backend to a
local fake gateway (the same one the tests use) on 127.0.0.1.

Enqueue runs in a transaction that is rolled back. Delivery must commit (its claim and result
are separate statements around the gateway call, as in the worker), so the messages and their
jobs are deleted at the end, and the settings it changes are put back.
"""

import json
import time

from django.conf import settings
from django.db import connection, transaction

from push import services
from push.models import SmsMessage
from push.text import segment_count
from tests.push.fake_gateway import API_KEY, start_fake_gateway, stop_fake_gateway

TEXTS = [
    "Nigrani check-in code 482913. Do not share it.",
    "نگرانی چیک اِن کوڈ 482913 ہے۔ یہ کوڈ کسی کو نہ بتائیں۔",
    "Reminder: report to {station} by Friday 17:00 with your CNIC card. " * 3,
    "آپ کی اگلی تھانے حاضری جمعہ شام 5 بجے تک ہے۔ " * 4,
]
COUNTS = 100_000
ENQUEUES = 2_000
DELIVERIES = 300


class _RollBack(Exception):
    pass


def _bench_segments() -> float:
    started = time.perf_counter()
    for n in range(COUNTS):
        segment_count(TEXTS[n % len(TEXTS)])
    return COUNTS / (time.perf_counter() - started)


def _bench_enqueue() -> float:
    try:
        with transaction.atomic():
            started = time.perf_counter()
            for n in range(ENQUEUES):
                services.sms_enqueue(
                    to=f"+92300{n:07d}", text=TEXTS[n % len(TEXTS)], purpose="bench"
                )
            elapsed = time.perf_counter() - started
            raise _RollBack
    except _RollBack:
        pass
    return ENQUEUES / elapsed


def _bench_delivery() -> float:
    gateway = start_fake_gateway()
    names = [
        "NIGRANI_SMS_BACKEND",
        "NIGRANI_SMS_HTTP_URL",
        "NIGRANI_SMS_HTTP_API_KEY",
    ]
    saved = {name: getattr(settings, name) for name in names}
    ids: list[int] = []
    try:
        settings.NIGRANI_SMS_BACKEND = "http"
        settings.NIGRANI_SMS_HTTP_URL = gateway.url
        settings.NIGRANI_SMS_HTTP_API_KEY = API_KEY
        with transaction.atomic():
            ids = [
                services.sms_enqueue(
                    to=f"+92301{n:07d}", text=TEXTS[n % len(TEXTS)], purpose="bench"
                ).pk
                for n in range(DELIVERIES)
            ]
        started = time.perf_counter()
        for message_id in ids:
            assert services.sms_deliver(message_id=message_id) == services.OUTCOME_SENT
        elapsed = time.perf_counter() - started
        assert len(gateway.messages) == DELIVERIES
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)
        stop_fake_gateway(gateway)
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM procrastinate_jobs WHERE task_name = 'push.deliver_sms' "
                "AND args = ANY(%s::jsonb[])",
                [[json.dumps({"message_id": message_id}) for message_id in ids]],
            )
        SmsMessage.objects.filter(pk__in=ids).delete()
    return DELIVERIES / elapsed


def run() -> list[tuple[str, float, str, str]]:
    segments = _bench_segments()
    enqueue = _bench_enqueue()
    delivery = _bench_delivery()
    return [
        (
            "sms_segment_count",
            round(segments),
            "texts/s",
            "encoding + greedy segment split of English and Urdu texts, 1–3 segments (pure)",
        ),
        (
            "sms_enqueue",
            round(enqueue, 1),
            "msgs/s",
            f"{ENQUEUES:,} outbox rows (number and text encrypted, blind index) + their delivery "
            "jobs, one transaction (rolled back)",
        ),
        (
            "sms_deliver_http",
            round(delivery, 1),
            "msgs/s",
            f"{DELIVERIES} sequential deliveries: claim, HTTP POST to a local fake gateway, "
            "record the gateway id (one worker; workers scale out)",
        ),
    ]
