"""Reminder SMS before the due date: each (offender, due date, days before) once."""

from datetime import timedelta

from django.utils import timezone

from checkins.models import CheckinReminder
from checkins.services.schedule import checkin_reminders_send
from push.models import SmsMessage
from tests.checkins.conftest import supervised_offender


def test_reminders_go_seven_and_one_days_before_each_once(world):
    today = timezone.localdate()
    week = supervised_offender(world, next_checkin_due=today + timedelta(days=7))
    day = supervised_offender(world, next_checkin_due=today + timedelta(days=1))
    supervised_offender(world, next_checkin_due=today + timedelta(days=8))  # not yet
    supervised_offender(world, next_checkin_due=today - timedelta(days=1))  # overdue: no

    assert checkin_reminders_send(today=today) == 2
    assert checkin_reminders_send(today=today) == 0  # re-run: nothing twice

    reminders = set(CheckinReminder.objects.values_list("offender_id", "days_before"))
    assert reminders == {(week.pk, 7), (day.pk, 1)}
    messages = SmsMessage.objects.filter(purpose="checkin_reminder")
    assert {m.offender_id for m in messages} == {week.pk, day.pk}
    assert all(m.to == "+923001234567" for m in messages)
    assert all(r.sms_message_id in {m.pk for m in messages} for r in CheckinReminder.objects.all())


def test_each_band_sends_once_even_across_days(world):
    today = timezone.localdate()
    offender = supervised_offender(world, next_checkin_due=today + timedelta(days=6))
    sent = [checkin_reminders_send(today=today + timedelta(days=n)) for n in range(8)]

    # Day 6 before (the 7-day band), then day 1 before (the 1-day band); nothing else.
    assert sent == [1, 0, 0, 0, 0, 1, 0, 0]
    assert set(
        CheckinReminder.objects.filter(offender=offender).values_list("days_before", flat=True)
    ) == {7, 1}


def test_a_new_due_date_gets_its_own_reminders(world):
    today = timezone.localdate()
    offender = supervised_offender(world, next_checkin_due=today + timedelta(days=1))
    assert checkin_reminders_send(today=today) == 1
    offender.next_checkin_due = today + timedelta(days=7)
    offender.save(update_fields=["next_checkin_due"])
    assert checkin_reminders_send(today=today) == 1


def test_reminder_text_names_no_one_and_follows_the_language_setting(world, settings):
    settings.NIGRANI_SMS_LANGUAGE = "en"
    today = timezone.localdate()
    offender = supervised_offender(world, next_checkin_due=today + timedelta(days=1))
    checkin_reminders_send(today=today)
    text = SmsMessage.objects.get(purpose="checkin_reminder").text

    assert "police station" in text
    assert (today + timedelta(days=1)).strftime("%d-%m-%Y") in text
    for protected in (offender.full_name, offender.father_name, offender.cnic, "1234567"):
        assert protected not in text


def test_urdu_by_default(world):
    today = timezone.localdate()
    supervised_offender(world, next_checkin_due=today + timedelta(days=7))
    checkin_reminders_send(today=today)
    assert "نگرانی" in SmsMessage.objects.get(purpose="checkin_reminder").text


def test_offenders_without_a_phone_or_not_active_get_none(world):
    today = timezone.localdate()
    supervised_offender(world, phone="", next_checkin_due=today + timedelta(days=1))
    supervised_offender(world, status="absconded", next_checkin_due=today + timedelta(days=1))
    assert checkin_reminders_send(today=today) == 0
