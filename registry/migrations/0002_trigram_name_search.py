"""Name search for registry admins: the pg_trgm extension and a GIN trigram index on full_name."""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddIndex(
            model_name="offender",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["full_name"], name="offender_full_name_trgm", opclasses=["gin_trgm_ops"]
            ),
        ),
    ]
