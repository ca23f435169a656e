"""What the register decides about the SMS it sends an offender (the texts live in push)."""

from django.conf import settings

from registry.models import Offender


def offender_sms_language(offender: Offender) -> str:
    """The offender's own choice, else the deployment's ``NIGRANI_SMS_LANGUAGE``."""
    return offender.sms_language or settings.NIGRANI_SMS_LANGUAGE
