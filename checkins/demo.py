"""Demo data of the check-ins app for ``seed_demo`` (development only), after the register's
demo offenders: a few confirmed check-ins at the demo station (code read back from the outbox,
as the offender would read it off the phone), a few offenders overdue, in the window or due
today so the due list has something to show, and one run of the reminder and
missed-check-in jobs. Idempotent: once the demo station has a check-in, nothing is added."""

import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role
from checkins.models import Checkin
from checkins.services.counter import Declaration, Location, checkin_start, checkin_verify
from checkins.services.schedule import checkin_reminders_send, missed_checkins_sweep
from jurisdictions.demo import SeedSummary, demo_username
from push.models import SmsMessage
from registry.models import Offender, OffenderStatus

CONFIRMED = 4
# Days from today of the demo due dates set on the next offenders: overdue past the grace,
# overdue within it, due today, in the window.
DUE_OFFSETS = (-12, -4, -1, 0, 0, 3, 6)


def seed_demo_checkins() -> SeedSummary:
    if not settings.DEV_MODE:
        raise RuntimeError("demo data is for development only (NIGRANI_DEV=1)")
    summary = SeedSummary(name="checkins")
    officer = Officer.objects.get(username=demo_username(Role.STATION_OFFICER))
    if Checkin.objects.filter(station_id=officer.station_id).exists():
        summary.created = {"checkins": 0, "due_dates": 0, "reminders": 0, "missed": 0}
        return summary
    offenders = list(
        Offender.objects.filter(station_id=officer.station_id, status=OffenderStatus.ACTIVE)
        .exclude(phone="")
        .order_by("pk")[: CONFIRMED + len(DUE_OFFSETS)]
    )
    lon, lat = officer.station.location["coordinates"]
    here = Location(lon=lon, lat=lat, accuracy_m=15)
    for offender in offenders[:CONFIRMED]:
        checkin = checkin_start(actor=officer, offender_id=offender.pk, location=here)
        text = SmsMessage.objects.filter(offender_id=offender.pk).latest("id").text
        code = re.findall(r"\b(\d{6})\b", text)[0]  # the SMS always carries its code
        checkin_verify(
            actor=officer,
            checkin_id=checkin.pk,
            code=code,
            declaration=Declaration(unchanged=True),
        )
        summary.count("checkins", True)
    today = timezone.localdate()
    for offender, offset in zip(offenders[CONFIRMED:], DUE_OFFSETS, strict=False):
        # Demo only: the due date set directly so the station's due list shows every state.
        Offender.objects.filter(pk=offender.pk).update(
            next_checkin_due=today + timedelta(days=offset)
        )
        summary.count("due_dates", True)
    summary.created["reminders"] = checkin_reminders_send()
    summary.created["missed"] = missed_checkins_sweep().missed
    return summary
