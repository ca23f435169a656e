"""The demo seeder: one request at each point of the SOP, and idempotent."""

from accounts.demo import seed_world
from disclosures.demo import seed_demo_disclosures
from disclosures.models import RecordsRequest, RequestAnswer
from registry.demo import seed_offenders


def test_demo_records_requests_are_seeded_once(db, settings, tmp_path):
    settings.DEV_MODE = True
    settings.MEDIA_ROOT = tmp_path
    seed_world()
    seed_offenders()

    first = seed_demo_disclosures()
    again = seed_demo_disclosures()

    assert first.created["records_requests"] == 3
    assert again.created["records_requests"] == 0
    states = sorted(RecordsRequest.objects.values_list("state", flat=True))
    assert states == ["delivered", "forwarded", "submitted"]
    delivered = RecordsRequest.objects.get(state="delivered")
    assert delivered.answer == RequestAnswer.MATCH
