"""A notice filed at a station that does not supervise the offender (issue 11, item 2).

With only the CNIC (the counter lookup answers nationally) a station officer could file an
address change that moved supervision to its own station, with nobody told and nothing
confirmed by the offender. Now such a notice waits for the offender's confirmation, by the
one-time code sent to the registered phone (as at a check-in), and a transfer it causes is
audited as a transfer and notified to the station and district that supervised the offender.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import AgencyKind
from audit.models import AuditAction, AuditEvent
from checkins import otp
from checkins.models import NoticeChallenge
from push.models import Notification, SmsMessage
from registry.models import Notice, NoticeStatus, Offender
from tests.conftest import make_officer
from tests.factories import OffenderFactory

CNIC = "35202-5555555-7"
KASUR_POINT = {"lon": 74.5, "lat": 30.5}  # station kasur-a


@pytest.fixture
def offender(world, deadlines) -> Offender:  # noqa: F811 - the fixture above
    """Supervised by lahore-a (district lahore)."""
    return OffenderFactory(
        district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1, cnic=CNIC
    )


@pytest.fixture
def kasur_officer(world):
    """A station officer in another district: the counter the offender walks into."""
    return make_officer(
        "station-officer-kasur",
        "station_officer",
        AgencyKind.POLICE,
        district=world.kasur,
        station=world.kasur_a,
    )


def _address_body(**fields) -> dict:
    body = {
        "kind": "address_change",
        "changed_on": (timezone.localdate() - timedelta(days=1)).isoformat(),
        "details": {"address": {"text": "House 9, Kasur", "district": "kasur", **KASUR_POINT}},
        "cnic": CNIC,
    }
    body.update(fields)
    return body


def _file(client, offender, **fields):
    return client.post(
        f"/api/v1/offenders/{offender.pk}/notices/", _address_body(**fields), format="json"
    )


def _code(notice_id: int) -> str:
    challenge = NoticeChallenge.objects.get(notice_id=notice_id)
    return otp.code_at(challenge.secret, challenge.counter)


def _confirm(client, notice_id: int, code: str):
    return client.post(f"/api/v1/notices/{notice_id}/confirm/", {"code": code}, format="json")


def test_a_counter_address_change_waits_for_the_offenders_code(client_for, kasur_officer, offender):
    response = _file(client_for(kasur_officer), offender)

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "unconfirmed"
    assert Offender.objects.get(pk=offender.pk).station.code == "lahore-a"  # not moved
    sms = SmsMessage.objects.get(purpose="notice_otp")
    assert sms.to == "+923001234567"  # the registered phone


def test_the_right_code_moves_supervision_audits_a_transfer_and_tells_the_old_station(
    client_for, kasur_officer, station_officer, control_room, offender
):
    client = client_for(kasur_officer)
    notice_id = _file(client, offender).json()["id"]

    response = _confirm(client, notice_id, _code(notice_id))

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == NoticeStatus.FILED
    moved = Offender.objects.select_related("station").get(pk=offender.pk)
    assert moved.station.code == "kasur-a"
    transfer = AuditEvent.objects.get(action=AuditAction.TRANSFER, object_id=str(offender.pk))
    assert transfer.details["from_station_id"] == station_officer.station_id
    assert transfer.details["via_counter"] is True
    told = set(
        Notification.objects.filter(kind="offender_transferred").values_list(
            "officer_id", flat=True
        )
    )
    assert {station_officer.pk, control_room.pk} <= told


def test_a_wrong_code_changes_nothing(client_for, kasur_officer, offender):
    client = client_for(kasur_officer)
    notice_id = _file(client, offender).json()["id"]
    right = _code(notice_id)
    wrong = "000000" if right != "000000" else "111111"

    response = _confirm(client, notice_id, wrong)

    assert (response.status_code, response.json()["code"]) == (400, "wrong_code")
    assert Offender.objects.get(pk=offender.pk).station.code == "lahore-a"
    assert Notice.objects.get(pk=notice_id).status == NoticeStatus.UNCONFIRMED


def test_too_many_wrong_codes_lock_the_confirmation(client_for, kasur_officer, offender, settings):
    settings.NIGRANI_CHECKIN_OTP_MAX_ATTEMPTS = 2
    client = client_for(kasur_officer)
    notice_id = _file(client, offender).json()["id"]
    right = _code(notice_id)
    wrong = "000000" if right != "000000" else "111111"

    assert _confirm(client, notice_id, wrong).status_code == 400
    assert _confirm(client, notice_id, wrong).status_code == 423
    assert _confirm(client, notice_id, right).status_code == 423
    assert Offender.objects.get(pk=offender.pk).station.code == "lahore-a"


def test_an_expired_code_is_refused(client_for, kasur_officer, offender, settings):
    client = client_for(kasur_officer)
    notice_id = _file(client, offender).json()["id"]
    NoticeChallenge.objects.filter(notice_id=notice_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = _confirm(client, notice_id, _code(notice_id))

    assert response.status_code == 410
    assert Offender.objects.get(pk=offender.pk).station.code == "lahore-a"


def test_only_the_counter_that_filed_it_confirms(
    client_for, kasur_officer, station_officer_elsewhere, offender
):
    notice_id = _file(client_for(kasur_officer), offender).json()["id"]

    response = _confirm(client_for(station_officer_elsewhere), notice_id, _code(notice_id))

    assert response.status_code == 404


def test_an_offender_without_a_registered_phone_cannot_be_moved_at_a_counter(
    client_for, kasur_officer, offender
):
    Offender.objects.filter(pk=offender.pk).update(phone="")

    response = _file(client_for(kasur_officer), offender)

    assert (response.status_code, response.json()["code"]) == (409, "no_registered_phone")
    assert not Notice.objects.exists()


def test_the_supervising_station_files_without_a_code(client_for, station_officer, offender):
    body = _address_body(
        details={"address": {"text": "House 2", "district": "lahore", "lon": 74.7, "lat": 31.5}}
    )
    del body["cnic"]

    response = client_for(station_officer).post(
        f"/api/v1/offenders/{offender.pk}/notices/", body, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == NoticeStatus.FILED
    assert Offender.objects.get(pk=offender.pk).station.code == "lahore-b"
    assert not NoticeChallenge.objects.exists()


def test_an_abandoned_code_expires_with_its_secret_erased(client_for, kasur_officer, offender):
    from checkins.services.notice_confirmation import notice_challenges_expire

    notice_id = _file(client_for(kasur_officer), offender).json()["id"]
    assert notice_challenges_expire() == 0

    later = timezone.now() + timedelta(minutes=10)

    assert notice_challenges_expire(now=later) == 1
    challenge = NoticeChallenge.objects.get(notice_id=notice_id)
    assert (challenge.state, challenge.secret) == ("expired", "")
    assert Notice.objects.get(pk=notice_id).status == NoticeStatus.UNCONFIRMED
