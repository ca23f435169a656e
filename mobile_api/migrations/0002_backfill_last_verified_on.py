"""The register now keeps the day of the last counted confirmed verification visit
(``Offender.last_verified_on``, registry 0004): the verification due dates are counted from it.
Filled once from the visits recorded before (the day in ``TIME_ZONE``); from now on
``registry.services.dues.offender_verification_counted`` keeps it."""

from django.conf import settings
from django.db import migrations

BACKFILL = """
UPDATE registry_offender AS o SET last_verified_on = v.on_day
FROM (
    SELECT v.offender_id, max((v.visited_at AT TIME ZONE %s)::date) AS on_day
    FROM mobile_api_visit AS v JOIN mobile_api_verificationtask AS t ON t.id = v.task_id
    WHERE v.counted AND v.outcome = %s AND t.kind = %s
    GROUP BY v.offender_id
) AS v
WHERE v.offender_id = o.id
"""


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(BACKFILL, [settings.TIME_ZONE, "confirmed", "verification"])


class Migration(migrations.Migration):
    dependencies = [
        ("mobile_api", "0001_initial"),
        ("registry", "0004_offender_event_dates"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
