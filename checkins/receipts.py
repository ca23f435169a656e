"""The offender's receipt of a confirmed check-in (by code or by the four-eyes override)."""

from checkins.models import Checkin, CheckinMethod
from push.models import Receipt
from push.receipts import receipt_issue
from registry.models import Offender
from registry.sms import offender_sms_language


def checkin_receipt_issue(*, checkin: Checkin) -> Receipt:
    """Called in the confirmation's transaction: a rollback leaves no receipt and no SMS."""
    offender = checkin.offender
    phone = Offender.objects.values_list("phone", flat=True).get(pk=offender.pk)
    return receipt_issue(
        kind="checkin_override" if checkin.method == CheckinMethod.OVERRIDE else "checkin",
        offender_id=offender.pk,
        object_type="checkin",
        object_id=checkin.pk,
        recorded_at=checkin.confirmed_at,
        station=offender.station,
        recorded_station=checkin.station,
        phone=phone,
        language=offender_sms_language(offender),
    )
