"""Demo data of the liaison app for ``seed_demo`` (development only), after the check-ins: one
demo offender of the demo station reports a move to Kasur at the counter, so the demo shows a
pending hand-over (both sides notified, Kasur's station to accept) and the notice's receipt in
the console SMS output (the check-ins' receipts are already there). Idempotent: once a
hand-over exists, nothing is added."""

from django.conf import settings
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role
from jurisdictions.demo import SeedSummary, demo_username
from liaison.models import Handover
from push.models import Receipt
from registry.models import Offender, OffenderStatus
from registry.services.notices import notice_file

# Old City beat of A-Division Kasur (jurisdictions.demo).
KASUR_ADDRESS = {
    "text": "House 12, Old City, Kasur",
    "district": "kasur",
    "lon": 74.42,
    "lat": 31.12,
}


def seed_demo_liaison() -> SeedSummary:
    if not settings.DEV_MODE:
        raise RuntimeError("demo data is for development only (NIGRANI_DEV=1)")
    summary = SeedSummary(name="liaison")
    summary.created = {"handovers": 0, "receipts": 0}
    if Handover.objects.exists():
        return summary
    officer = Officer.objects.get(username=demo_username(Role.STATION_OFFICER))
    offender = (
        Offender.objects.filter(station_id=officer.station_id, status=OffenderStatus.ACTIVE)
        .exclude(phone="")
        .order_by("-pk")
        .first()
    )
    if offender is None:
        return summary
    receipts_before = Receipt.objects.count()
    notice_file(
        actor=officer,
        offender_id=offender.pk,
        kind="address_change",
        changed_on=timezone.localdate(),
        details={"address": KASUR_ADDRESS},
    )
    summary.created["handovers"] = Handover.objects.filter(offender=offender).count()
    summary.created["receipts"] = Receipt.objects.count() - receipts_before
    return summary
