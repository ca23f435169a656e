"""Default reporting policy per risk tier and notice deadlines (DOMAIN.md's comparable rules).

Data, not constants: NPB edits the rows and due dates follow. Existing rows are left alone, so
re-running on a configured database changes nothing.

- Verification every 12 / 6 / 3 months by tier (US SORNA tiers I–III); check-in every 90 / 30 / 7
  days; registration for 10 years, 20 years, or life.
- Changes notified within 3 days (UK, SORNA); international travel at least 7 days before
  departure (UK); domestic travel 3 days before.
"""

from django.db import migrations

POLICIES = [
    # tier, check-in days, verification days, registration years (None: life), description
    (1, 90, 365, 10, "Tier 1: lowest risk"),
    (2, 30, 180, 20, "Tier 2: medium risk"),
    (3, 7, 90, None, "Tier 3: highest risk, registered for life"),
]
DEADLINES = [
    # kind, days after the change, days before departure
    ("name_change", 3, None),
    ("address_change", 3, None),
    ("phone_change", 3, None),
    ("employment_change", 3, None),
    ("domestic_travel", None, 3),
    ("international_travel", None, 7),
]


def seed(apps, schema_editor):
    ReportingPolicy = apps.get_model("registry", "ReportingPolicy")
    NoticeDeadline = apps.get_model("registry", "NoticeDeadline")
    for tier, checkin, verification, years, description in POLICIES:
        ReportingPolicy.objects.get_or_create(
            risk_tier=tier,
            defaults={
                "checkin_interval_days": checkin,
                "verification_interval_days": verification,
                "registration_period_years": years,
                "description": description,
            },
        )
    for kind, after_change, before_departure in DEADLINES:
        NoticeDeadline.objects.get_or_create(
            kind=kind,
            defaults={
                "days_after_change": after_change,
                "days_before_departure": before_departure,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_trigram_name_search"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
