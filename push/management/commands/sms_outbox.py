"""``manage.py sms_outbox --to NUMBER [--last N]``: what the outbox sent to one number.

Development only (it prints message texts): a developer testing check-ins reads the messages
the console backend "sent". Sensitive texts are gone from the database once sent, so they show
as ``[wiped: sensitive]``; the code itself was printed by the console backend when it was sent.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from push.selectors import sms_sent_to
from push.services import E164, sms_to_index

WIPED = "[wiped: sensitive]"


class Command(BaseCommand):
    help = "Show the last SMS messages to a number (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--to", required=True, help="E.164 number, e.g. +923001234567")
        parser.add_argument("--last", type=int, default=10, help="how many (default 10)")

    def handle(self, *args: Any, to: str, last: int, **options: Any) -> None:
        if not settings.DEV_MODE:
            raise CommandError("sms_outbox shows message texts: development only (NIGRANI_DEV=1).")
        if not E164.match(to):
            raise CommandError("--to must be an E.164 number, e.g. +923001234567.")
        if not 1 <= last <= 1000:
            raise CommandError("--last must be between 1 and 1000.")
        messages = sms_sent_to(to_index=sms_to_index(to), last=last)
        if not messages:
            self.stdout.write(f"No messages to {to}.")
            return
        for message in messages:
            text = message.text if message.text else (WIPED if message.sensitive else "")
            created = timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M:%S")
            self.stdout.write(
                f"#{message.pk} {created} {message.purpose} {message.status} "
                f"({message.encoding}, {message.segments} segment(s)): {text}"
            )
