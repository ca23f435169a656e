"""Factories for tests: jurisdictions with real polygons, agencies and officers."""

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import Agency, Officer
from accounts.roles import AgencyKind
from jurisdictions.models import Beat, District, PoliceStation, Province


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
