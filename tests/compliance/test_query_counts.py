"""Query count of the violation list: pinned, and the same for one violation as for many."""

from compliance.services import violation_acknowledge
from tests.compliance.conftest import raise_for
from tests.factories import OffenderFactory
from tests.helpers import query_count

URL = "/api/v1/violations/"
MANY = 15


def test_violation_list_query_count_does_not_grow_with_rows(
    client_for, world, registry_admin, control_room, django_assert_max_num_queries
):
    client = client_for(registry_admin)
    places = [
        (world.lahore, world.lahore_a, world.lahore_a_1),
        (world.lahore, world.lahore_b, world.lahore_b_1),
        (world.kasur, world.kasur_a, world.kasur_a_1),
        (world.lahore, None, None),
    ]
    raise_for(OffenderFactory(district=world.lahore, station=world.lahore_a, beat=world.lahore_a_1))
    one_row = query_count(lambda: client.get(URL))

    for n in range(MANY - 1):
        district, station, beat = places[n % len(places)]
        violation, _ = raise_for(OffenderFactory(district=district, station=station, beat=beat))
        if n % 2 and district == world.lahore:
            # status_changed_by set on some rows.
            violation_acknowledge(actor=control_room, violation_id=violation.pk)
    # The page (district, station, cause type and status changer joined in), and the audit
    # append of the read (one insert, no lock).
    with django_assert_max_num_queries(2) as captured:
        response = client.get(URL)

    assert len(response.json()["results"]) == MANY
    assert len(captured) == one_row, f"GET {URL} grows with its rows"


def test_a_new_alert_is_raised_in_pinned_round_trips(
    lahore_a_offender, lahore_b_offender, django_assert_num_queries
):
    """The raise is on the ping → control-room path (issue 13's latency budget): its round
    trips are pinned. A raise is a batch of one (``violations_raise_many``), so the count
    holds for a batch's raise of any size with one severity and one district."""
    raise_for(lahore_b_offender)  # warm the process's caches (content types)

    with django_assert_num_queries(RAISE_QUERIES):
        violation, created = raise_for(lahore_a_offender)

    assert created
    violation.refresh_from_db()
    assert (violation.escalation_level, violation.ack_due_at is not None) == (1, True)


# Cause check, open-episode heads, the severity's policy and ladder (one query), the INSERT
# (ladder columns already set: no UPDATE after it), the step's officers (the offender's beat
# joined in), the step's notice, the delivery job, the audit event, the stream event
# (sequence + row). No savepoint inside the caller's transaction. Was 16: savepoint and
# release, policy, ladder, the ladder columns' UPDATE, the ladder again, the beat, the SMS
# policy.
RAISE_QUERIES = 9
