"""The demo offenders: about 200, believable, inside the demo Lahore beats, seeded once."""

from collections import Counter

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.demo import seed_world
from accounts.models import Officer
from registry.demo import DEMO_OFFENDERS, demo_register_rows, seed_offenders
from registry.identifiers import normalise_cnic, normalise_phone, validate_sections
from registry.models import Address, Notice, Offender

# The demo goes through the register's own bulk import and services (audited), about 6.5
# statements per offender today: the bound catches a new per-row query, not a slow machine.
SEED_QUERIES = 7 * DEMO_OFFENDERS


def test_rows_are_the_same_for_one_seed_and_differ_for_another():
    assert demo_register_rows(20) == demo_register_rows(20)
    assert demo_register_rows(20) != demo_register_rows(20, seed=1)


def test_rows_are_valid_identifiers_and_cnics_are_unique():
    rows = demo_register_rows(1000)
    cnics = [normalise_cnic(row["cnic"]) for row in rows]
    assert len(set(cnics)) == len(cnics)
    for row in rows:
        validate_sections(row["sections"].split(";"))
        if row["phone"]:
            normalise_phone(row["phone"])
        # The last CNIC digit is odd for men and even for women.
        assert int(row["cnic"][-1]) % 2 == (1 if row["gender"] == "male" else 0)


def test_seeding_twice_creates_the_offenders_once(db):
    seed_world()
    with CaptureQueriesContext(connection) as captured:
        first = seed_offenders()

    assert first.created["offenders"] == DEMO_OFFENDERS
    assert Offender.objects.count() == DEMO_OFFENDERS
    # Seeding stays quick: its statement count is pinned (a wall-clock bound here failed on a
    # loaded machine and measured nothing in particular).
    assert len(captured) <= SEED_QUERIES, len(captured)
    statuses = Counter(Offender.objects.values_list("status", flat=True))
    assert statuses["active"] > statuses["in_custody"] > 0
    assert statuses["absconded"] == first.created["absconded"] > 0
    assert set(Offender.objects.values_list("risk_tier", flat=True)) == {1, 2, 3}
    assert Notice.objects.count() == first.created["notices"] > 0
    assert Notice.objects.filter(status="filed").exists()
    assert not Notice.objects.filter(is_late=True).exists()
    admin = Officer.objects.get(username="demo-registry-admin")
    assert set(Offender.objects.values_list("created_by", flat=True)) == {admin.pk}

    second = seed_offenders()

    assert second.created["offenders"] == 0
    assert Offender.objects.count() == DEMO_OFFENDERS


def test_every_current_address_resolves_to_a_lahore_beat(db):
    seed_world()
    seed_offenders()

    current = Address.objects.filter(valid_to__isnull=True).select_related("beat__station")
    assert current.count() == DEMO_OFFENDERS
    for address in current:
        assert address.beat is not None
        assert address.beat.station.district.code == "lahore"
        assert address.beat.code in address.beat.station.beats.values_list("code", flat=True)
    beats = Counter(a.beat.code for a in current)
    assert len(beats) == 10  # spread over every demo beat
    assert not Offender.objects.filter(beat__isnull=True).exists()
