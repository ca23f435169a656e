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
