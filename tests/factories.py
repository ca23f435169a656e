"""Factories for tests: jurisdictions with real polygons, agencies and officers, and the
domain objects (offenders with their addresses and convictions, verification tasks and
visits, check-ins).

The domain factories write rows directly, not through the register's services: a test that
needs an offender "as registered" calls ``offender_create``; one that needs a supervised
offender in a given state to start from uses ``OffenderFactory``. Every offender gets a real
CNIC blind index (``registry.identifiers``), so CNIC lookups work on them as on real records.
"""

import uuid
from datetime import date, timedelta

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.models import Agency, Officer
from accounts.roles import AgencyKind
from checkins.models import Checkin, CheckinMethod, CheckinStatus
from jurisdictions.models import Beat, District, PoliceStation, Province
from mobile_api.models import Outcome, TaskKind, TaskSource, TaskStatus, VerificationTask, Visit
from registry.identifiers import cnic_blind_index
from registry.models import Address, Conviction, Offender, OffenderStatus


def square(min_lon: float, min_lat: float, size: float) -> dict:
    """A closed GeoJSON square polygon."""
    max_lon, max_lat = min_lon + size, min_lat + size
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [min_lon, min_lat],
                [max_lon, min_lat],
                [max_lon, max_lat],
                [min_lon, max_lat],
                [min_lon, min_lat],
            ]
        ],
    }


class ProvinceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Province
        django_get_or_create = ("code",)

    code = "punjab"
    name = "Punjab"


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District

    province = factory.SubFactory(ProvinceFactory)
    code = factory.Sequence(lambda n: f"district-{n}")
    name = factory.Sequence(lambda n: f"District {n}")
    boundary = factory.LazyFunction(lambda: square(74.0, 31.0, 1.0))


class PoliceStationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PoliceStation

    district = factory.SubFactory(DistrictFactory)
    code = factory.Sequence(lambda n: f"station-{n}")
    name = factory.Sequence(lambda n: f"Station {n}")
    boundary = factory.LazyAttribute(lambda o: o.district.boundary)
    location = factory.LazyAttribute(
        lambda o: {
            "type": "Point",
            "coordinates": [o.district.min_lon + 0.01, o.district.min_lat + 0.01],
        }
    )


class BeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Beat

    station = factory.SubFactory(PoliceStationFactory)
    code = factory.Sequence(lambda n: f"beat-{n}")
    name = factory.Sequence(lambda n: f"Beat {n}")
    boundary = factory.LazyAttribute(lambda o: o.station.boundary)


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("name",)

    kind = AgencyKind.POLICE
    name = "Punjab Police"


class OfficerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Officer
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"officer{n}")
    full_name = factory.Sequence(lambda n: f"Officer {n}")
    rank = "Inspector"
    badge_number = factory.Sequence(lambda n: f"B{n:05d}")
    agency = factory.SubFactory(AgencyFactory)
    role = "station_officer"
    # Hashed before the insert, so no second save is needed (tests use the fast MD5 hasher).
    password = factory.LazyFunction(lambda: make_password("correct-horse-battery"))


# --- the register -------------------------------------------------------------------------------


class AddressFactory(factory.django.DjangoModelFactory):
    """A current address of ``offender`` in its district, station and beat (no point unless
    ``lat``/``lon`` are given)."""

    class Meta:
        model = Address

    offender = factory.SubFactory("tests.factories.OffenderFactory", address=False)
    text = factory.Sequence(lambda n: f"House {n}, Street {n}")
    district = factory.LazyAttribute(lambda o: o.offender.district)
    station = factory.LazyAttribute(lambda o: o.offender.station)
    beat = factory.LazyAttribute(lambda o: o.offender.beat)
    lat = None
    lon = None
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=400))


class OffenderFactory(factory.django.DjangoModelFactory):
    """An active offender of tier 2 with one current address (``address=False``: none;
    ``address__lat=…, address__lon=…``: a located one). Pass ``district`` (and ``station``,
    ``beat``) from the test world; a CNIC and its real blind index are made up per offender."""

    class Meta:
        model = Offender
        skip_postgeneration_save = True

    full_name = factory.Sequence(lambda n: f"Test Offender {n}")
    father_name = factory.Sequence(lambda n: f"Test Father {n}")
    gender = "male"
    cnic = factory.Sequence(lambda n: f"35202-{5_000_000 + n:07d}-1")
    cnic_index = factory.LazyAttribute(lambda o: cnic_blind_index(o.cnic))
    phone = "+923001234567"
    risk_tier = 2
    status = OffenderStatus.ACTIVE
    district = factory.SubFactory(DistrictFactory)
    station = None
    beat = None

    @factory.post_generation
    def address(obj, create, extracted, **kwargs):
        if not create or extracted is False:
            return None
        return AddressFactory(offender=obj, **kwargs)


class ConvictionFactory(factory.django.DjangoModelFactory):
    """A conviction of ``offender`` under a scheduled section (PPC 376, a minor victim), with
    its own case number (one conviction per court and case)."""

    class Meta:
        model = Conviction

    offender = factory.SubFactory(OffenderFactory)
    fir_number = factory.Sequence(lambda n: f"{1000 + n}/2015")
    police_station = "Samanabad"
    court = "Sessions Court Lahore"
    case_number = factory.Sequence(lambda n: f"SC-{1000 + n}/2015")
    conviction_date = date(2016, 2, 1)
    sentence = "10 years"
    sections = factory.LazyFunction(lambda: ["PPC 376"])
    victim_minor = True


# --- field verification -------------------------------------------------------------------------


class VerificationTaskFactory(factory.django.DjangoModelFactory):
    """An open verification task for the offender's current address, placed where the
    address is (its beat; the offender's station when the address has none)."""

    class Meta:
        model = VerificationTask

    offender = factory.SubFactory(OffenderFactory)
    address = factory.LazyAttribute(
        lambda o: Address.objects.get(offender=o.offender, valid_to__isnull=True)
    )
    kind = TaskKind.VERIFICATION
    source = TaskSource.PERIODIC
    status = TaskStatus.OPEN
    district = factory.LazyAttribute(lambda o: o.address.district)
    station = factory.LazyAttribute(lambda o: o.address.station or o.offender.station)
    beat = factory.LazyAttribute(lambda o: o.address.beat)
    needs_point = factory.LazyAttribute(lambda o: o.address.lat is None)
    due_on = factory.LazyFunction(timezone.localdate)


class VisitFactory(factory.django.DjangoModelFactory):
    """A counted confirmed visit of ``task`` by ``officer``, at the address point."""

    class Meta:
        model = Visit

    task = factory.SubFactory(VerificationTaskFactory)
    offender = factory.SelfAttribute("task.offender")
    officer = factory.SubFactory(OfficerFactory, role="beat_officer")
    client_id = factory.LazyFunction(uuid.uuid4)
    outcome = Outcome.CONFIRMED
    lat = factory.LazyAttribute(lambda o: o.task.address.lat or 0.0)
    lon = factory.LazyAttribute(lambda o: o.task.address.lon or 0.0)
    accuracy_m = 10.0
    visited_at = factory.LazyFunction(timezone.now)
    fix_time = factory.LazyAttribute(lambda o: o.visited_at - timedelta(seconds=30))
    mock_location = False
    counted = True


# --- check-ins ----------------------------------------------------------------------------------


class CheckinFactory(factory.django.DjangoModelFactory):
    """A check-in of ``offender`` at its station; ``confirmed=True`` makes it a confirmed
    one of today (as a row only: the due dates are moved by the services, not here)."""

    class Meta:
        model = Checkin

    class Params:
        confirmed = factory.Trait(
            status=CheckinStatus.CONFIRMED,
            confirmed_at=factory.LazyFunction(timezone.now),
            confirmed_on=factory.LazyFunction(timezone.localdate),
            confirmed_by=factory.SelfAttribute("started_by"),
            method=CheckinMethod.SMS_OTP,
        )

    offender = factory.SubFactory(OffenderFactory)
    station = factory.LazyAttribute(lambda o: o.offender.station)
    status = CheckinStatus.OTP_SENT
    due_on = factory.LazyAttribute(lambda o: o.offender.next_checkin_due)
    started_by = factory.SubFactory(OfficerFactory)
    # The officer's fix at the counter (a check-in is located by a fix or a terminal).
    lon = factory.LazyAttribute(lambda o: o.station.location["coordinates"][0])
    lat = factory.LazyAttribute(lambda o: o.station.location["coordinates"][1])
    accuracy_m = 10.0
