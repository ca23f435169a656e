"""Two officers (or a double tap) verifying the same right code at once: one confirmation."""

import threading

import pytest
from django.db import connection

from checkins.models import Checkin, CheckinStatus
from common.exceptions import ApplicationError
from tests.checkins.conftest import UNCHANGED, sent_code, start, supervised_offender, verify


@pytest.mark.django_db(transaction=True)
def test_simultaneous_verifications_of_the_right_code_confirm_once(world, station_officer):
    offender = supervised_offender(world)
    checkin = start(station_officer, offender)
    code = sent_code(checkin)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt():
        try:
            barrier.wait()
            verify(station_officer, checkin, code, UNCHANGED)
            outcomes.append("confirmed")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["already_confirmed"] * 3 + ["confirmed"]
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_simultaneous_wrong_codes_are_all_counted(world, station_officer):
    offender = supervised_offender(world)
    checkin = start(station_officer, offender)
    code = sent_code(checkin)
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    barrier = threading.Barrier(5)
    outcomes: list[str] = []

    def attempt():
        try:
            barrier.wait()
            verify(station_officer, checkin, bad, UNCHANGED)
        except ApplicationError as exc:
            outcomes.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["challenge_locked"] + ["wrong_code"] * 4
    assert Checkin.objects.get(pk=checkin.pk).status == CheckinStatus.LOCKED
