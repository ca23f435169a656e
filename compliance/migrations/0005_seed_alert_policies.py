"""Default alert policy and escalation ladder per severity (data, not constants: NPB edits the
rows). Existing rows are left alone, so re-running on a configured database changes nothing.

Acknowledgement within 2 / 10 / 60 / 240 minutes (critical / high / medium / low), resolution
within 30 minutes / 2 hours / 8 hours / a day; the top step repeats 3 / 3 / 2 / 1 times.
Every ladder climbs beat officers → the station's officers in charge → the district control
room's supervisors → the NPB national desk; a low-severity one stops at the district.
"""

from django.db import migrations

POLICIES = [
    # severity, ack minutes, resolve minutes, top repeats, SMS fallback
    (4, 2, 30, 3, True),
    (3, 10, 120, 3, False),
    (2, 60, 480, 2, False),
    (1, 240, 1440, 1, False),
]
FULL_LADDER = ["beat_officers", "officers_in_charge", "district_supervisors", "national_desk"]
LADDERS = {4: FULL_LADDER, 3: FULL_LADDER, 2: FULL_LADDER, 1: FULL_LADDER[:3]}


def seed(apps, schema_editor):
    AlertPolicy = apps.get_model("compliance", "AlertPolicy")
    LadderStep = apps.get_model("compliance", "LadderStep")
    for severity, ack, resolve, repeats, sms in POLICIES:
        AlertPolicy.objects.get_or_create(
            severity=severity,
            defaults={
                "ack_minutes": ack,
                "resolve_minutes": resolve,
                "top_repeats": repeats,
                "sms_fallback": sms,
            },
        )
        if not LadderStep.objects.filter(severity=severity).exists():
            LadderStep.objects.bulk_create(
                LadderStep(severity=severity, step=step, target=target)
                for step, target in enumerate(LADDERS[severity], start=1)
            )


class Migration(migrations.Migration):
    dependencies = [("compliance", "0004_alerts")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
