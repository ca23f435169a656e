"""Demo data of the alerts for ``seed_demo`` (development only), after the check-ins demo
(whose missed-check-in sweep already raised medium alerts): the ladder's duties granted to the
demo officers through the audited service, and one critical ``absconding_suspected`` alert at
the demo beat, raised now and escalated once at once, so ``make run`` shows the ladder moving;
the worker's minute sweep then climbs it every 2 minutes until someone acknowledges it on
``/api/v1/violations/<id>/acknowledge/``. Idempotent: once the demo alert exists, nothing is
added."""

from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Duty, Role
from compliance.alerts import alert_escalation_sweep, officer_duty_grant
from compliance.models import Severity, Violation, ViolationKind
from compliance.services import violation_raise
from jurisdictions.demo import SeedSummary, demo_username
from registry.models import Offender, OffenderStatus

DEMO_CAUSE_KEY = "demo-alert"
DUTIES = {
    Role.STATION_OFFICER: Duty.OFFICER_IN_CHARGE,
    Role.CONTROL_ROOM: Duty.SUPERVISOR,
    Role.REGISTRY_ADMIN: Duty.NATIONAL_DESK,
}


def seed_demo_alerts() -> SeedSummary:
    if not settings.DEV_MODE:
        raise RuntimeError("demo data is for development only (NIGRANI_DEV=1)")
    summary = SeedSummary(name="alerts")
    admin = Officer.objects.get(username=demo_username(Role.SYSTEM_ADMIN))
    for role, duty in DUTIES.items():
        officer = Officer.objects.get(username=demo_username(role))
        officer_duty_grant(actor=admin, officer=officer, duty=duty)
    beat_officer = Officer.objects.get(username=demo_username(Role.BEAT_OFFICER))
    offender_type = ContentType.objects.get_for_model(Offender)
    if Violation.objects.filter(cause_type=offender_type, cause_key=DEMO_CAUSE_KEY).exists():
        summary.created = {"alerts": 0, "escalations": 0}
        return summary
    offender = (
        Offender.objects.filter(beat_id=beat_officer.beat_id, status=OffenderStatus.ACTIVE)
        .order_by("pk")
        .first()
    )
    if offender is None:
        summary.created = {"alerts": 0, "escalations": 0}
        return summary
    now = timezone.now()
    violation, created = violation_raise(
        offender=offender,
        kind=ViolationKind.ABSCONDING_SUSPECTED,
        severity=Severity.CRITICAL,
        occurred_at=now - timedelta(minutes=5),
        cause=offender,
        cause_key=DEMO_CAUSE_KEY,
        summary="demo: not found at the registered address on a verification visit",
    )
    summary.count("alerts", created)
    # Demo only: its first deadline set in the past so the seed shows one climb at once.
    Violation.objects.filter(pk=violation.pk).update(ack_due_at=now - timedelta(seconds=1))
    summary.created["escalations"] = alert_escalation_sweep()["escalated"]
    violation.refresh_from_db()
    summary.created[f"= ladder step of demo alert #{violation.pk}"] = violation.escalation_level
    return summary
