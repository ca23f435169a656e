"""Check-ins: the missed-check-in sweep over 100,000 active offenders, and OTP verifications.

``run()`` is called by the bench harness inside a migrated, configured Django; it seeds the
demo world itself (idempotent). The 100,000 offenders are made by one ``INSERT … SELECT`` over
``generate_series`` (one encrypted CNIC and phone value shared by all: the sweep never reads
them), inside a transaction that is rolled back at the end, together with everything the
benchmark wrote (violations, audit events, deferred jobs, SMS), so the database is left as it
was found (the audit trail is append-only: rolling back is the only clean way out).

Figures:
- the sweep with N new misses (N violations raised, each with its audit event and alert job);
- the steady state: the same sweep again with nothing new (what the hourly job costs daily);
- the escalation pass some days later (the N periods still missing escalate);
- OTP verifications per second through the service (start untimed, verify timed).
"""

import re
import time
from collections import deque
from datetime import timedelta

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.demo import seed_world
from accounts.models import Officer
from accounts.roles import Role
from checkins.services.counter import Declaration, Location, checkin_start, checkin_verify
from checkins.services.schedule import missed_checkins_sweep
from common.crypto import settings_keyring
from jurisdictions.demo import demo_username
from jurisdictions.models import PoliceStation
from push.models import SmsMessage
from registry.models import Offender

OFFENDERS = 100_000
NEW_MISSES = 1_000
VERIFICATIONS = 300
BENCH_INDEX = "bench-checkins-"


class _RollBack(Exception):
    pass


_INSERT_SQL = """
INSERT INTO registry_offender (
    full_name, father_name, full_name_ur, father_name_ur, aliases, gender, photo,
    physical_description, cnic, cnic_index, phone, dna_profile_ref, biometric_ref, risk_tier,
    status, removal_reason, status_changed_at, district_id, station_id, beat_id, released_on,
    release_prison, registration_ends_on, next_checkin_due, next_verification_due, created_by_id,
    created_at, updated_at, sms_language
)
SELECT
    'Bench Offender ' || i, 'Bench Father ' || i, '', '', '{}', 'male', '', '',
    %(cnic)s, %(prefix)s || i, %(phone)s, '', '', 1 + i %% 3,
    'active', '', %(now)s, %(district)s, %(station)s, NULL, %(today)s::date - 30,
    '', NULL,
    -- N offenders 3 days overdue (past the 2 days' grace); the rest due 10 to 89 days ahead,
    -- so the escalation pass a week later finds no new misses among them.
    CASE WHEN i <= %(misses)s THEN %(today)s::date - 3 ELSE %(today)s::date + 10 + i %% 80 END,
    %(today)s::date + 180, NULL, %(now)s, %(now)s, ''
FROM generate_series(1, %(count)s) AS i
"""


def _insert_offenders(station: PoliceStation, count: int, misses: int) -> None:
    keyring = settings_keyring()
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SQL,
            {
                "cnic": keyring.encrypt("35202-0000000-1"),
                "phone": keyring.encrypt("+923001234567"),
                "prefix": BENCH_INDEX,
                "now": timezone.now(),
                "today": timezone.localdate(),
                "district": station.district_id,
                "station": station.pk,
                "misses": misses,
                "count": count,
            },
        )
        cursor.execute("ANALYZE registry_offender")


def _timed(function, **kwargs):
    # A fresh, larger log: Django keeps 9,000 entries, and a full log counts nothing new.
    connection.queries_log = deque(maxlen=1_000_000)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = function(**kwargs)
        elapsed = time.perf_counter() - started
    return result, elapsed, len(queries)


def _verifications(officer: Officer, station: PoliceStation) -> float:
    """Start VERIFICATIONS check-ins (untimed), then time their verifications."""
    ids = list(
        Offender.objects.filter(cnic_index__startswith=BENCH_INDEX)
        .order_by("id")
        .values_list("id", flat=True)[NEW_MISSES : NEW_MISSES + VERIFICATIONS]
    )
    lon, lat = station.location["coordinates"]
    here = Location(lon=lon, lat=lat, accuracy_m=10)
    pending = []
    for offender_id in ids:
        checkin = checkin_start(actor=officer, offender_id=offender_id, location=here)
        text = SmsMessage.objects.filter(offender_id=offender_id).latest("id").text
        pending.append((checkin.pk, _code_in(text)))
    started = time.perf_counter()
    for checkin_id, code in pending:
        checkin_verify(
            actor=officer,
            checkin_id=checkin_id,
            code=code,
            declaration=Declaration(unchanged=True),
        )
    return len(pending) / (time.perf_counter() - started)


def _code_in(text: str) -> str:
    match = re.search(r"\b(\d{6})\b", text)
    assert match
    return match.group(1)


def run() -> list[tuple[str, float, str, str]]:
    seed_world()
    officer = Officer.objects.get(username=demo_username(Role.STATION_OFFICER))
    station = officer.station
    figures: list[tuple[str, float, str, str]] = []
    try:
        with transaction.atomic():
            started = time.perf_counter()
            _insert_offenders(station, OFFENDERS, NEW_MISSES)
            insert_s = time.perf_counter() - started

            first, first_s, first_q = _timed(missed_checkins_sweep)
            assert first.missed == NEW_MISSES, first
            steady, steady_s, steady_q = _timed(missed_checkins_sweep)
            assert steady.missed == steady.escalated == 0, steady
            later = timezone.localdate() + timedelta(days=7)
            escalated, escalate_s, escalate_q = _timed(missed_checkins_sweep, today=later)
            assert (escalated.missed, escalated.escalated) == (0, NEW_MISSES), escalated
            per_second = _verifications(officer, station)

            figures = [
                (
                    "checkins_sweep_new_misses",
                    round(first_s * 1000, 1),
                    "ms",
                    f"{OFFENDERS:,} active offenders, {NEW_MISSES:,} newly past grace: "
                    f"{NEW_MISSES:,} violations (audit + alert job each), {first_q:,} queries",
                ),
                (
                    "checkins_sweep_steady_state",
                    round(steady_s * 1000, 1),
                    "ms",
                    f"the same sweep again, nothing new: {steady_q} queries",
                ),
                (
                    "checkins_sweep_escalation",
                    round(escalate_s * 1000, 1),
                    "ms",
                    f"7 days later: {NEW_MISSES:,} still missing escalate, {escalate_q:,} queries",
                ),
                (
                    "checkins_otp_verifications",
                    round(per_second, 1),
                    "verify/s",
                    f"{VERIFICATIONS} right codes through checkin_verify (lock, HOTP, confirm, "
                    "due date, audit), one process",
                ),
                (
                    "checkins_bench_setup",
                    round(insert_s, 2),
                    "s",
                    f"INSERT … SELECT generate_series of {OFFENDERS:,} offenders + ANALYZE "
                    "(all rolled back afterwards)",
                ),
            ]
            raise _RollBack
    except _RollBack:
        pass
    return figures
