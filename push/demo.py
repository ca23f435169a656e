"""Demo data of the push app for ``seed_demo`` (development only): a welcome notice for every
demo officer, and two reminders (English and Urdu) in the SMS outbox to a demo number, which
the worker "sends" through the console backend and ``manage.py sms_outbox --to +923000000001``
then shows. Idempotent: a second run finds what the first made and adds nothing."""

from django.conf import settings

from accounts.models import Officer
from jurisdictions.demo import SeedSummary
from push.models import Notification, SmsMessage
from push.services import notify_officers, sms_enqueue, sms_to_index

DEMO_NUMBER = "+923000000001"
DEMO_PURPOSE = "demo_reminder"
WELCOME_KIND = "welcome"
WELCOME_TEXT = "Welcome to Nigrani. Notices about your work appear here."
DEMO_TEXTS = [
    "Nigrani: your next station check-in is due by Friday 17:00.",
    "نگرانی: آپ کی اگلی تھانے حاضری جمعہ شام 5 بجے تک ہے۔",
]


def seed_demo_push() -> SeedSummary:
    if not settings.DEV_MODE:
        raise RuntimeError("demo data is for development only (NIGRANI_DEV=1)")
    summary = SeedSummary(name="push")
    welcomed = Notification.objects.filter(kind=WELCOME_KIND).values_list("officer_id", flat=True)
    officers = Officer.objects.filter(username__startswith="demo-", is_active=True).exclude(
        pk__in=welcomed
    )
    notices = notify_officers(
        officers=officers,
        kind=WELCOME_KIND,
        text=WELCOME_TEXT,
        object_type="officer",
        object_id="self",
    )
    summary.created["notifications"] = len(notices)
    queued = SmsMessage.objects.filter(to_index=sms_to_index(DEMO_NUMBER), purpose=DEMO_PURPOSE)
    created = 0
    if not queued.exists():
        for text in DEMO_TEXTS:
            sms_enqueue(to=DEMO_NUMBER, text=text, purpose=DEMO_PURPOSE)
            created += 1
    summary.created["sms"] = created
    return summary
