"""The alerts demo: duties on the ladder, one critical alert raised and already escalated,
and idempotent."""

from accounts.demo import seed_world
from accounts.roles import Duty
from compliance.demo import DEMO_CAUSE_KEY, seed_demo_alerts
from compliance.models import AlertNotice, OfficerDuty, Severity, Violation
from push.models import AlertEvent, AlertEventType
from registry.demo import seed_offenders


def test_demo_alert_is_raised_escalated_and_seeded_once(db, settings):
    settings.DEV_MODE = True
    seed_world()
    seed_offenders()

    first = seed_demo_alerts()
    again = seed_demo_alerts()

    alert = Violation.objects.get(cause_key=DEMO_CAUSE_KEY)
    assert (first.created["alerts"], first.created["escalations"]) == (1, 1)
    assert again.created == {"alerts": 0, "escalations": 0}
    assert alert.severity == Severity.CRITICAL
    assert alert.escalation_level == 2
    assert set(OfficerDuty.objects.values_list("duty", flat=True)) == set(Duty)
    # Step 2 (the demo station's officer in charge) was told.
    assert AlertNotice.objects.filter(violation=alert, level=2, officer__isnull=False).exists()
    assert list(
        AlertEvent.objects.filter(alert_id=alert.pk).order_by("seq").values_list("type", flat=True)
    ) == [AlertEventType.RAISED, AlertEventType.ESCALATED]
