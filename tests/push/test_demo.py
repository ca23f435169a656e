"""Push demo data: welcome notices and outbox messages, once."""

from accounts.roles import AgencyKind
from push.demo import DEMO_NUMBER, seed_demo_push
from push.models import Notification, SmsMessage
from push.services import sms_to_index
from tests.conftest import make_officer


def test_seed_demo_push_is_idempotent(world):
    officer = make_officer(
        "demo-station-officer",
        "station_officer",
        AgencyKind.POLICE,
        district=world.lahore,
        station=world.lahore_a,
    )

    first = seed_demo_push()
    second = seed_demo_push()

    assert first.created == {"notifications": 1, "sms": 2}
    assert second.created == {"notifications": 0, "sms": 0}
    assert Notification.objects.filter(officer=officer).count() == 1
    messages = SmsMessage.objects.filter(to_index=sms_to_index(DEMO_NUMBER)).order_by("id")
    assert [m.encoding for m in messages] == ["gsm7", "ucs2"]
