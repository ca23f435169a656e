"""Reads of the push app, each already limited to what the actor may see."""

from django.db.models import QuerySet

from accounts.models import Officer
from push.models import Notification, SmsMessage


def notification_list(*, actor: Officer, unread: bool | None = None) -> QuerySet[Notification]:
    """The actor's own notices, newest first: nobody reads another officer's notices."""
    notices = Notification.objects.filter(officer=actor).order_by("-id")
    if unread is not None:
        notices = notices.filter(read_at__isnull=unread)
    return notices


def sms_sent_to(*, to_index: str, last: int) -> list[SmsMessage]:
    """The last messages to one number (by its blind index), newest first: what the
    development console showed (``manage.py sms_outbox``)."""
    return list(SmsMessage.objects.filter(to_index=to_index).order_by("-id")[:last])
