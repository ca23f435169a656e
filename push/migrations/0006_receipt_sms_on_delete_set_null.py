"""A receipt's ``sms`` is set null by PostgreSQL when its SMS is deleted (the outbox prune),
instead of by Django: with Django's SET_NULL the SMS model cannot be fast-deleted, and
``delete_in_chunks`` would load (and decrypt) each chunk of messages before deleting it.
Same outcome for the receipt; the prune stays one DELETE per chunk.

The constraint keeps the name Django gave it in 0004 (deterministic from table and column).
"""

import django.db.models.deletion
from django.db import migrations, models

FK = "push_receipt_sms_id_de07dfd4_fk_push_smsmessage_id"


def _fk(on_delete: str) -> str:
    return (
        f'ALTER TABLE push_receipt DROP CONSTRAINT "{FK}", ADD CONSTRAINT "{FK}" '
        f"FOREIGN KEY (sms_id) REFERENCES push_smsmessage (id){on_delete} "
        "DEFERRABLE INITIALLY DEFERRED"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("push", "0005_pushmessage_status_updated_idx"),
    ]

    operations = [
        migrations.AlterField(
            model_name="receipt",
            name="sms",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="push.smsmessage",
            ),
        ),
        migrations.RunSQL(sql=_fk(" ON DELETE SET NULL"), reverse_sql=_fk("")),
    ]
