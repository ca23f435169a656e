"""The push outbox's prune index (status, updated_at).

Built CONCURRENTLY (so the migration is not atomic): a plain CREATE INDEX would block the
inserts of every alert raised while it is built, on a table that holds weeks of pushes.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("push", "0004_receipt"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="pushmessage",
            index=models.Index(fields=["status", "updated_at"], name="pushmessage_status_updated_idx"),
        ),
    ]
