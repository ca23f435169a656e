"""The liaison demo: a pending hand-over and a receipt the console SMS backend prints."""

from accounts.demo import seed_world
from checkins.demo import seed_demo_checkins
from liaison.demo import seed_demo_liaison
from liaison.models import Handover, HandoverStatus
from push.models import Notification, Receipt
from push.services import sms_deliver
from registry.demo import seed_offenders


def test_the_demo_shows_a_pending_handover_and_a_receipt_on_the_console(db, settings, capsys):
    settings.DEV_MODE = True
    settings.NIGRANI_SMS_BACKEND = "console"
    seed_world()
    seed_offenders()
    seed_demo_checkins()

    first = seed_demo_liaison()
    again = seed_demo_liaison()

    assert first.created == {"handovers": 1, "receipts": 1}
    assert again.created == {"handovers": 0, "receipts": 0}
    handover = Handover.objects.get()
    assert handover.status == HandoverStatus.PENDING
    assert handover.to_district.code == "kasur"
    # The demo station (the sending side) is told; Kasur has no demo officers to tell.
    assert Notification.objects.filter(kind="handover_outgoing", object_id=str(handover.pk))
    receipt = Receipt.objects.filter(kind="notice_address_change").latest("id")
    assert sms_deliver(message_id=receipt.sms_id) == "sent"
    printed = capsys.readouterr().out
    assert "[sms console]" in printed
    assert "(receipt," in printed
    assert receipt.reference in printed
    # The check-ins the demo confirmed have their receipts too.
    assert Receipt.objects.filter(object_type="checkin", sms__isnull=False).count() == 4
