"""Receipts for the offender: every filed notice, confirmed check-in and override sends one,
in the offender's language, with a reference that resolves only for the supervising station."""

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from checkins.services.counter import checkin_override, checkin_verify
from common.exceptions import NotFound
from push.models import Receipt, SmsMessage
from push.receipts import receipt_get, receipt_reference_normalise
from registry.services.notices import notice_file
from tests.checkins.conftest import UNCHANGED, override_credentials, sent_code, start
from tests.liaison.conftest import offender_under_supervision

pytestmark = pytest.mark.django_db


def _receipt_sms(offender) -> SmsMessage:
    return SmsMessage.objects.get(offender_id=offender.pk, purpose="receipt")


def _file_employment(actor, offender):
    return notice_file(
        actor=actor,
        offender_id=offender.pk,
        kind="employment_change",
        changed_on=timezone.localdate(),
        details={"employer": "Secret Employer Ltd"},
    )


def test_a_filed_notice_sends_an_urdu_receipt_by_default(station_officer, offender, settings):
    settings.NIGRANI_SMS_LANGUAGE = "ur"
    notice = _file_employment(station_officer, offender)
    receipt = Receipt.objects.get(object_type="notice", object_id=str(notice.pk))
    sms = _receipt_sms(offender)
    assert receipt.sms_id == sms.pk
    assert receipt.kind == "notice_employment_change"
    assert receipt.reference in sms.text
    assert "ملازمت کی تبدیلی کا نوٹس" in sms.text
    assert "Lahore A" in sms.text
    assert sms.encoding == "ucs2"
    assert sms.segments == 2  # the Urdu receipt is two UCS-2 segments, counted by the outbox
    assert sms.to == "+923001234567"


def test_the_offenders_own_language_overrides_the_deployments(station_officer, world, settings):
    settings.NIGRANI_SMS_LANGUAGE = "ur"
    offender = offender_under_supervision(world, sms_language="en")
    _file_employment(station_officer, offender)
    sms = _receipt_sms(offender)
    assert "notice of a change of employment" in sms.text
    assert sms.encoding == "gsm7"
    assert sms.segments == 1


def test_a_receipt_holds_no_cnic_no_name_and_not_the_new_values(station_officer, offender):
    _file_employment(station_officer, offender)
    text = _receipt_sms(offender).text
    assert offender.cnic not in text
    assert offender.cnic.replace("-", "") not in text
    assert offender.full_name not in text
    assert "Secret Employer" not in text


def test_a_phone_change_receipt_goes_to_the_new_phone(station_officer, offender):
    notice_file(
        actor=station_officer,
        offender_id=offender.pk,
        kind="phone_change",
        changed_on=timezone.localdate(),
        details={"phone": "+923217654321"},
    )
    sms = _receipt_sms(offender)
    assert sms.to == "+923217654321"
    assert "+923217654321" not in sms.text


def test_without_a_phone_the_receipt_is_kept_for_printing(station_officer, world):
    offender = offender_under_supervision(world, phone="")
    notice = _file_employment(station_officer, offender)
    receipt = Receipt.objects.get(object_type="notice", object_id=str(notice.pk))
    assert receipt.sms is None
    assert not SmsMessage.objects.filter(offender_id=offender.pk, purpose="receipt").exists()


def test_a_confirmed_checkin_sends_a_receipt(station_officer, offender, settings):
    settings.NIGRANI_SMS_LANGUAGE = "en"
    checkin = start(station_officer, offender)
    checkin_verify(
        actor=station_officer, checkin_id=checkin.pk, code=sent_code(checkin), declaration=UNCHANGED
    )
    receipt = Receipt.objects.get(object_type="checkin", object_id=str(checkin.pk))
    assert receipt.kind == "checkin"
    text = _receipt_sms(offender).text
    assert "your check-in was recorded" in text
    assert receipt.reference in text


def test_an_override_sends_a_receipt_saying_two_officers_confirmed(
    station_officer, second_officer, offender, settings
):
    settings.NIGRANI_SMS_LANGUAGE = "en"
    checkin = start(station_officer, offender)
    credentials = override_credentials(second_officer)
    checkin_override(
        actor=station_officer,
        checkin_id=checkin.pk,
        reason="phone lost",
        declaration=UNCHANGED,
        channel="web",
        client_ip="127.0.0.1",
        **credentials,
    )
    receipt = Receipt.objects.get(object_type="checkin", object_id=str(checkin.pk))
    assert receipt.kind == "checkin_override"
    assert "confirmed by two officers" in _receipt_sms(offender).text


def test_an_unconfirmed_checkin_sends_no_receipt(station_officer, offender):
    start(station_officer, offender)
    assert not Receipt.objects.exists()


def test_the_reference_resolves_for_the_supervising_station_only(
    station_officer, station_officer_elsewhere, registry_admin, offender
):
    notice = _file_employment(station_officer, offender)
    reference = Receipt.objects.get(object_id=str(notice.pk)).reference
    assert receipt_get(actor=station_officer, reference=reference.lower()).object_id == str(
        notice.pk
    )
    assert receipt_get(actor=registry_admin, reference=reference).pk
    with pytest.raises(NotFound):
        receipt_get(actor=station_officer_elsewhere, reference=reference)


def test_references_are_forgiving_of_how_they_are_typed():
    assert receipt_reference_normalise(" ab12cd34 ") == "AB12-CD34"
    assert receipt_reference_normalise("AB1O-CDLI") == "AB10-CD11"
    assert receipt_reference_normalise("short") == ""


def test_receipt_api_is_scoped_and_audited(
    client_for, station_officer, station_officer_elsewhere, control_room, api_client, offender
):
    notice = _file_employment(station_officer, offender)
    receipt = Receipt.objects.get(object_id=str(notice.pk))
    url = f"/api/v1/receipts/{receipt.reference}/"
    response = client_for(station_officer).get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object_type"] == "notice"
    assert body["object_id"] == str(notice.pk)
    assert body["recorded_station"] == "lahore-a"
    assert AuditEvent.objects.filter(
        action="read", object_type="receipt", object_id=str(receipt.pk), purpose="receipt_lookup"
    ).exists()
    assert client_for(station_officer_elsewhere).get(url).status_code == 404
    assert client_for(control_room).get(url).status_code == 403
    assert api_client.get(url).status_code == 401


def test_the_printable_page_is_a5_in_both_languages(client_for, station_officer, offender):
    checkin = start(station_officer, offender)
    checkin_verify(
        actor=station_officer, checkin_id=checkin.pk, code=sent_code(checkin), declaration=UNCHANGED
    )
    receipt = Receipt.objects.get(object_type="checkin")
    response = client_for(station_officer).get(f"/api/v1/receipts/{receipt.reference}/print/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "size: A5" in html
    assert "حاضری" in html
    assert "check-in" in html
    assert offender.cnic not in html
    assert AuditEvent.objects.filter(object_type="receipt", details__printed=True).exists()


def test_the_offenders_language_is_set_on_the_record(client_for, registry_admin, offender):
    url = f"/api/v1/offenders/{offender.pk}/"
    response = client_for(registry_admin).patch(url, {"sms_language": "en"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["sms_language"] == "en"
    offender.refresh_from_db()
    assert offender.sms_language == "en"
    refused = client_for(registry_admin).patch(url, {"sms_language": "fr"}, format="json")
    assert refused.status_code == 400
