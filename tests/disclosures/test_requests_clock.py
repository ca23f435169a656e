"""The prosecutor's 48-hour clock: overdue list, reminder, escalation to the NPB (frozen time)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from disclosures import selectors
from disclosures.models import RecordsRequest
from disclosures.services import requests as services
from push.models import Notification
from tests.disclosures.conftest import file_request

pytestmark = pytest.mark.django_db

START = "2026-03-02 09:00:00+00:00"


def _kinds(officer) -> list[str]:
    return list(
        Notification.objects.filter(officer=officer).order_by("id").values_list("kind", flat=True)
    )


def test_overdue_reminder_then_escalation_each_once(
    investigating_officer, district_prosecutor, registry_admin
):
    with time_machine.travel(START, tick=False) as traveller:
        request = file_request(investigating_officer)
        traveller.shift(timedelta(hours=47, minutes=59))
        assert services.records_requests_clock_sweep() == {"reminded": 0, "escalated": 0}
        assert not selectors.records_request_list(
            actor=district_prosecutor, overdue_at=timezone.now()
        ).exists()

        traveller.shift(timedelta(minutes=2))
        overdue = selectors.records_request_list(
            actor=district_prosecutor, overdue_at=timezone.now()
        )
        assert list(overdue) == [request]
        assert services.records_requests_clock_sweep() == {"reminded": 1, "escalated": 0}
        assert services.records_requests_clock_sweep() == {"reminded": 0, "escalated": 0}
        assert _kinds(district_prosecutor).count("records_request_overdue") == 1
        # Not the NPB's yet.
        assert not selectors.records_request_list(actor=registry_admin).exists()

        traveller.shift(timedelta(hours=24))
        assert services.records_requests_clock_sweep() == {"reminded": 0, "escalated": 1}
        assert services.records_requests_clock_sweep() == {"reminded": 0, "escalated": 0}
        assert _kinds(registry_admin) == ["records_request_escalated"]
        assert list(selectors.records_request_list(actor=registry_admin)) == [request]
    request.refresh_from_db()
    assert request.reminded_at < request.escalated_at


def test_a_forwarded_or_returned_request_stops_the_clock(
    investigating_officer, district_prosecutor
):
    with time_machine.travel(START, tick=False) as traveller:
        forwarded = file_request(investigating_officer)
        returned = file_request(investigating_officer)
        services.records_request_forward(
            actor=district_prosecutor, request_id=forwarded.pk, suspect_named_in_fir=True
        )
        services.records_request_return(
            actor=district_prosecutor, request_id=returned.pk, reason="Which FIR page?"
        )
        traveller.shift(timedelta(days=5))
        assert services.records_requests_clock_sweep() == {"reminded": 0, "escalated": 0}
        assert not selectors.records_request_list(
            actor=district_prosecutor, overdue_at=timezone.now()
        ).exists()


def test_a_resubmission_starts_a_fresh_clock_and_a_fresh_reminder(
    investigating_officer, district_prosecutor
):
    with time_machine.travel(START, tick=False) as traveller:
        request = file_request(investigating_officer)
        traveller.shift(timedelta(hours=49))
        services.records_requests_clock_sweep()
        services.records_request_return(
            actor=district_prosecutor, request_id=request.pk, reason="Sections unclear."
        )
        services.records_request_resubmit(
            actor=investigating_officer,
            request_id=request.pk,
            changes={},
            fir_copy=None,
            attested=True,
        )
        request.refresh_from_db()
        assert request.reminded_at is None
        traveller.shift(timedelta(hours=47))
        assert services.records_requests_clock_sweep()["reminded"] == 0
        traveller.shift(timedelta(hours=2))
        assert services.records_requests_clock_sweep()["reminded"] == 1


def test_the_sweep_is_set_based(investigating_officer, django_assert_max_num_queries):
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(6):
            file_request(investigating_officer)
        traveller.shift(timedelta(hours=80))
        # Reminders and escalations of six requests: a fixed number of queries besides each
        # request's notice insert (push owns that table) and audit append (4 statements).
        with django_assert_max_num_queries(10 + 2 * 6 * (1 + 4)):
            assert services.records_requests_clock_sweep() == {"reminded": 6, "escalated": 6}
    assert RecordsRequest.objects.filter(reminded_at__isnull=False).count() == 6
