"""Public SMS CNIC check: inbound checks per second, through the service and through the
signed HTTP endpoint (Django's test client, the whole view stack: signature, replay guard,
parse, quotas, detectors, outbox, audit).

Everything runs in transactions that are rolled back: the registrants it makes, the senders,
checks, outbox rows, jobs and audit events leave nothing behind; the settings it changes are
put back.
"""

import json
import time

from django.conf import settings
from django.db import transaction
from django.test import Client

from disclosures.services.sms_check import sms_check_handle
from push.services import receipt_signature
from registry.identifiers import cnic_blind_index
from registry.models import Offender, OffenderStatus

CHECKS = 400
SECRET = "bench-gateway-secret"  # noqa: S105 - a throwaway HMAC key for the benchmark
HITS_EVERY = 20  # about the share of asked CNICs that are on the register, generously


class _RollBack(Exception):
    pass


def _cnic(n: int) -> str:
    # Different areas for every check: no detector fires, every check is answered.
    return f"3{n % 10}{n // 10 % 10}{n // 100 % 10}{n // 1000 % 10}-{n:07d}-1"


def _registrants(district_id: int) -> None:
    rows = []
    for n in range(0, CHECKS, HITS_EVERY):
        cnic = _cnic(n)
        rows.append(
            Offender(
                full_name=f"Bench Offender {n}",
                father_name=f"Bench Father {n}",
                gender="male",
                cnic=cnic,
                cnic_index=cnic_blind_index(cnic),
                risk_tier=2,
                status=OffenderStatus.ACTIVE,
                district_id=district_id,
            )
        )
    Offender.objects.bulk_create(rows)


def _timed(body) -> float:
    from jurisdictions.models import District, Province

    try:
        with transaction.atomic():
            province = Province.objects.create(code="bench-province", name="Bench")
            district = District.objects.create(
                province=province,
                code="bench-district",
                name="Bench",
                boundary={
                    "type": "Polygon",
                    "coordinates": [[[60, 20], [61, 20], [61, 21], [60, 21], [60, 20]]],
                },
            )
            _registrants(district.pk)
            started = time.perf_counter()
            body()
            elapsed = time.perf_counter() - started
            raise _RollBack
    except _RollBack:
        pass
    return CHECKS / elapsed


def _service() -> None:
    for n in range(CHECKS):
        sms_check_handle(sender=f"+92345{n:07d}", text=f"check {_cnic(n)}")


def _http() -> None:
    client = Client()
    for n in range(CHECKS):
        raw = json.dumps({"sender": f"+92346{n:07d}", "text": _cnic(n)}).encode()
        timestamp = str(int(time.time()))
        response = client.post(
            "/api/v1/sms/inbound/",
            raw,
            content_type="application/json",
            HTTP_X_NIGRANI_TIMESTAMP=timestamp,
            HTTP_X_NIGRANI_SIGNATURE=receipt_signature(
                secret=SECRET, timestamp=timestamp, body=raw
            ),
        )
        assert response.status_code == 200, response.content


def run() -> list[tuple[str, float, str, str]]:
    names = {
        "NIGRANI_SMS_CHECK_ENABLED": True,
        "NIGRANI_SMS_RECEIPT_SECRET": SECRET,
        "NIGRANI_SMS_CHECK_GLOBAL_PER_MINUTE": CHECKS * 10,
    }
    saved = {name: getattr(settings, name) for name in names}
    try:
        for name, value in names.items():
            setattr(settings, name, value)
        service = _timed(_service)
        http = _timed(_http)
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)
    return [
        (
            "sms_check_service",
            round(service, 1),
            "checks/s",
            f"{CHECKS} inbound checks, one per sender, 1 in {HITS_EVERY} on the register: "
            "quotas, detectors, lookup, outbox reply, audit (sequential, rolled back)",
        ),
        (
            "sms_check_http",
            round(http, 1),
            "checks/s",
            f"the same {CHECKS} as signed POST /api/v1/sms/inbound/ (HMAC, replay guard, "
            "parse) through Django's test client, one process",
        ),
    ]
