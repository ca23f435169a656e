"""Demo verification work for ``seed_demo`` (development only): every active demo offender has
a verification task (the release hook opens them as the register imports the demo offenders;
this fills any gap), and the demo beat officer has already been out: one confirmed visit, one
flagged for the station's review (mock location), one not-at-home, one that found the offender
moved (a violation and a station follow-up).

Idempotent: the visits carry fixed ``client_id`` values, so a second run finds them and adds
nothing. Runs after ``registry.demo.seed_offenders``.
"""

import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Officer
from accounts.roles import Role
from jurisdictions.demo import SeedSummary, demo_username
from mobile_api.models import TaskStatus, VerificationTask, Visit
from mobile_api.services import tasks as task_services
from mobile_api.services import visits as visit_services
from registry.models import Offender, OffenderStatus

_NAMESPACE = uuid.UUID("6f1c3a52-7d0e-4b8e-9a51-3c2d4e5f6a70")
# (outcome, mock location): each visit is made at the address point.
_VISITS = (
    ("confirmed", False),
    ("not_at_home", False),
    ("confirmed", True),
    ("moved", False),
)


def _client_id(n: int) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"demo-visit-{n}")


@transaction.atomic
def seed_demo_mobile_api() -> SeedSummary:
    """Tasks for the demo offenders and a morning's visits on the demo beat."""
    summary = SeedSummary(name="verification", created={"tasks": 0, "visits": 0})
    never_tasked = Offender.objects.filter(status=OffenderStatus.ACTIVE).exclude(
        pk__in=VerificationTask.objects.values("offender_id")
    )
    for offender in never_tasked.order_by("pk"):
        task_services.on_offender_released(offender=offender)
        summary.created["tasks"] += 1
    # Demo offenders moved to absconded after their import keep no open task.
    task_services.verification_schedule()

    client_ids = [_client_id(n) for n in range(len(_VISITS))]
    officer = Officer.objects.filter(username=demo_username(Role.BEAT_OFFICER)).first()
    if officer is None or Visit.objects.filter(client_id__in=client_ids).exists():
        return summary
    tasks = list(
        VerificationTask.objects.filter(beat_id=officer.beat_id, status=TaskStatus.OPEN)
        .exclude(address__lat__isnull=True)
        .select_related("address")
        .order_by("id")[: len(_VISITS)]
    )
    now = timezone.now()
    for n, (task, (outcome, mock)) in enumerate(zip(tasks, _VISITS, strict=False)):
        visited_at = now - timedelta(hours=len(_VISITS) - n)
        visit_services.visit_record(
            actor=officer,
            task_id=task.pk,
            data=visit_services.VisitInput(
                client_id=client_ids[n],
                outcome=outcome,
                lat=task.address.lat,
                lon=task.address.lon,
                accuracy_m=12.0,
                fix_time=visited_at - timedelta(seconds=40),
                mock_location=mock,
                visited_at=visited_at,
            ),
        )
        summary.created["visits"] += 1
    return summary
