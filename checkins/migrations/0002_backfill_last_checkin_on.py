"""The register now keeps the date of the last confirmed check-in (``Offender.last_checkin_on``,
registry 0004): the due dates are counted from it. Filled once from the check-ins confirmed
before; from now on ``registry.services.dues.offender_checkin_confirmed`` keeps it."""

from django.db import migrations

BACKFILL = """
UPDATE registry_offender AS o SET last_checkin_on = c.on_day
FROM (
    SELECT offender_id, max(confirmed_on) AS on_day FROM checkins_checkin
    WHERE status = %s AND confirmed_on IS NOT NULL GROUP BY offender_id
) AS c
WHERE c.offender_id = o.id
"""


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(BACKFILL, ["confirmed"])


class Migration(migrations.Migration):
    dependencies = [
        ("checkins", "0001_initial"),
        ("registry", "0004_offender_event_dates"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
