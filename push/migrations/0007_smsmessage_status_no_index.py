"""SmsMessage.status loses its own index (and its ``_like`` twin): the queue's queries use
the partial indexes on queued and sending messages, and the nightly prune takes the messages
that left the queue, nearly every row. Two fewer index writes at each status change.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("push", "0006_receipt_sms_on_delete_set_null"),
    ]

    operations = [
        migrations.AlterField(
            model_name="smsmessage",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("sent", "Sent"),
                    ("delivered", "Delivered"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                    ("expired", "Expired"),
                ],
                default="queued",
                max_length=16,
            ),
        ),
    ]
