"""The alert job deferred with every violation: found by name by a real worker, and honest
about what it did."""

import json
import logging

import pytest
from django.db import connection, transaction
from procrastinate.contrib.django import app

from compliance.jobs import ALERT_PENDING, ALERT_SKIPPED, deliver_violation_alert
from compliance.models import Violation
from compliance.services import violation_dismiss
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory


def test_job_reports_pending_delivery_without_identity(lahore_a_offender, caplog):
    violation, _ = raise_for(lahore_a_offender)

    with caplog.at_level(logging.INFO, logger="compliance.jobs"):
        outcome = deliver_violation_alert(violation_id=violation.pk)

    assert outcome == ALERT_PENDING
    assert f"violation {violation.pk}" in caplog.text
    assert "alert delivery pending" in caplog.text
    assert lahore_a_offender.full_name not in caplog.text
    assert lahore_a_offender.cnic not in caplog.text


def test_job_skips_a_violation_closed_before_the_worker_got_to_it(lahore_a_offender, control_room):
    violation, _ = raise_for(lahore_a_offender)
    violation_dismiss(actor=control_room, violation_id=violation.pk, reason="false alarm")

    assert deliver_violation_alert(violation_id=violation.pk) == ALERT_SKIPPED


def test_job_for_a_missing_violation_fails_loudly(db):
    with pytest.raises(Violation.DoesNotExist):
        deliver_violation_alert(violation_id=987654)


@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_deferred_job_to_success(world):
    offender = OffenderFactory(district=world.lahore, station=world.lahore_a)
    with transaction.atomic():
        violation, _ = raise_for(offender)

    worker_app = app.with_connector(app.connector.get_worker_connector())
    with worker_app.open():
        worker_app.run_worker(
            queues=["alerts"], wait=False, install_signal_handlers=False, listen_notify=False
        )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM procrastinate_jobs WHERE task_name = %s AND args = %s::jsonb",
            ["compliance.deliver_violation_alert", json.dumps({"violation_id": violation.pk})],
        )
        assert cursor.fetchall() == [("succeeded",)]
