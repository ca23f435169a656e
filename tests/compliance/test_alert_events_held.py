"""Stream events held to one append per transaction: two transactions that emit to the same
two districts in opposite orders (two processes' ping batches) must not deadlock on the
districts' sequence counters (threads with their own connections, real PostgreSQL)."""

import threading
from contextlib import nullcontext

import pytest
from django.db import connection, transaction

from compliance import alerts
from push.models import AlertEvent, AlertEventType
from tests.compliance.conftest import raise_for


def _emit_in_two_steps(first, second, barrier, errors, *, held: bool) -> None:
    try:
        with transaction.atomic(), alerts.alert_events_held() if held else nullcontext():
            alerts.alert_emit([first], AlertEventType.UPDATED)
            barrier.wait()
            alerts.alert_emit([second], AlertEventType.UPDATED)
    except BaseException as exc:  # noqa: BLE001 - reported by the assertion
        errors.append(exc)
    finally:
        connection.close()


def _race(lahore_alert, kasur_alert, *, held: bool) -> list[BaseException]:
    barrier = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(
            target=_emit_in_two_steps, args=(a, b, barrier, errors), kwargs={"held": held}
        )
        for a, b in ((lahore_alert, kasur_alert), (kasur_alert, lahore_alert))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_held_events_of_two_transactions_in_opposite_district_orders_do_not_deadlock(
    world, lahore_a_offender, kasur_offender
):
    lahore_alert, _ = raise_for(lahore_a_offender, key="l")
    kasur_alert, _ = raise_for(kasur_offender, key="k")
    assert lahore_alert.district_id != kasur_alert.district_id

    assert _race(lahore_alert, kasur_alert, held=True) == []

    updated = AlertEvent.objects.filter(type=AlertEventType.UPDATED)
    assert updated.count() == 4
    for district in (world.lahore, world.kasur):
        seqs = list(
            AlertEvent.objects.filter(district=district)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate


@pytest.mark.django_db(transaction=True)
def test_events_appended_step_by_step_in_opposite_orders_deadlock(
    world, lahore_a_offender, kasur_offender
):
    """The hazard the hold removes (so the test above can fail): one of the two is refused."""
    lahore_alert, _ = raise_for(lahore_a_offender, key="l")
    kasur_alert, _ = raise_for(kasur_offender, key="k")

    errors = _race(lahore_alert, kasur_alert, held=False)

    assert len(errors) == 1
    assert "deadlock" in str(errors[0])


@pytest.mark.django_db
def test_held_events_keep_their_order_and_vanish_with_an_exception(world, lahore_a_offender):
    alert, _ = raise_for(lahore_a_offender, key="l")
    before = AlertEvent.objects.count()

    with alerts.alert_events_held():
        alerts.alert_emit([alert], AlertEventType.UPDATED)
        alerts.alert_emit([alert], AlertEventType.CLOSED)
        assert AlertEvent.objects.count() == before  # nothing written inside the block
    types = list(AlertEvent.objects.order_by("-seq").values_list("type", flat=True)[:2])
    assert types == [AlertEventType.CLOSED, AlertEventType.UPDATED]

    def failing_workflow():
        with transaction.atomic(), alerts.alert_events_held():
            alerts.alert_emit([alert], AlertEventType.UPDATED)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing_workflow()
    assert AlertEvent.objects.count() == before + 2
