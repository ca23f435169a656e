"""Demo offenders for the demo world (``seed_demo``) and the import benchmark.

``demo_register_rows`` makes believable register rows — Pakistani names in English and Urdu,
fake CNICs, scheduled offences, Lahore addresses inside the demo beats — as the cells of the
import file (``docs/import_register.md``), deterministically from a seed. ``seed_offenders``
enters 200 of them through the import service (the same validation and writing as a real
import, audited as one import), moves a few to ``absconded`` and files a few notices of change
still in flight, all through the services.

Idempotent: when any of the demo CNICs is already registered, nothing is done. CNICs here use
middle blocks 1000000–8999999; ``samples/register_sample.csv`` uses 9000000 and up, so the two
never collide.
"""

import random
from datetime import date, timedelta
from typing import Any

import shapely
from django.db import transaction
from django.utils import timezone
from shapely.geometry import shape

from accounts.models import Officer
from accounts.roles import Role
from jurisdictions.demo import LAHORE, SeedSummary, demo_username
from registry.identifiers import cnic_blind_index, normalise_cnic
from registry.models import Offender, OffenderStatus
from registry.services.importing import ImportRow, register_import, register_row_data
from registry.services.lifecycle import offender_transition
from registry.services.notices import notice_acknowledge, notice_file

DEMO_OFFENDERS = 200
SEED = 20240122
# Fixed dates, so the rows are the same whatever the day (all safely in the past).
_LATEST_EVENT = date(2025, 6, 30)

# Romanised name → Urdu spelling.
_FIRST_NAMES = {
    "Muhammad Imran": "محمد عمران",
    "Ali Raza": "علی رضا",
    "Usman": "عثمان",
    "Bilal": "بلال",
    "Kashif": "کاشف",
    "Asif": "آصف",
    "Naveed": "نوید",
    "Shahid": "شاہد",
    "Tariq": "طارق",
    "Zubair": "زبیر",
    "Faisal": "فیصل",
    "Adnan": "عدنان",
    "Waqas": "وقاص",
    "Sajid": "ساجد",
    "Rizwan": "رضوان",
    "Amir": "عامر",
    "Khalid": "خالد",
    "Nadeem": "ندیم",
    "Irfan": "عرفان",
    "Javed": "جاوید",
    "Arshad": "ارشد",
    "Zeeshan": "ذیشان",
    "Hamza": "حمزہ",
    "Sohail": "سہیل",
    "Rashid": "راشد",
    "Mubashir": "مبشر",
    "Shakeel": "شکیل",
    "Akram": "اکرم",
}
_FEMALE_NAMES = {
    "Nasreen": "نسرین",
    "Shazia": "شازیہ",
    "Rubina": "روبینہ",
    "Samina": "ثمینہ",
}
_SURNAMES = {
    "Ahmed": "احمد",
    "Hussain": "حسین",
    "Iqbal": "اقبال",
    "Butt": "بٹ",
    "Malik": "ملک",
    "Chaudhry": "چوہدری",
    "Qureshi": "قریشی",
    "Sheikh": "شیخ",
    "Rana": "رانا",
    "Anwar": "انور",
    "Akhtar": "اختر",
    "Mehmood": "محمود",
    "Saleem": "سلیم",
    "Shah": "شاہ",
    "Aslam": "اسلم",
    "Ashraf": "اشرف",
    "Bashir": "بشیر",
    "Rafiq": "رفیق",
    "Yousaf": "یوسف",
    "Nawaz": "نواز",
}
_FATHER_FIRST = {
    "Muhammad": "محمد",
    "Ghulam": "غلام",
    "Haji": "حاجی",
    "Mian": "میاں",
    "Sher": "شیر",
}
# Lahore, Lahore Cantt and nearby areas of issue (fake numbers in any case).
_CNIC_AREAS = ("35202", "35202", "35202", "35201", "35401", "35102")
_MOBILE_PREFIXES = ("300", "301", "302", "303", "305", "306", "313", "321", "333", "345", "346")
_COURTS = (
    "Additional Sessions Judge, Lahore",
    "Sessions Court, Lahore",
    "Gender-Based Violence Court, Lahore",
    "Special Court (Anti-Rape), Lahore",
    "Judicial Magistrate Section 30, Lahore",
)
_FIR_STATIONS = (
    "Ichhra",
    "Gulberg",
    "Model Town",
    "Township",
    "Shadman",
    "Kot Lakhpat",
    "Green Town",
    "Faisal Town",
    "Nishtar Colony",
)
_PRISONS = (
    "Central Jail Kot Lakhpat",
    "District Jail Lahore",
    "Camp Jail Lahore",
    "Central Jail Sahiwal",
)
# (sections, chance the victim was a minor, sentences, weight)
_OFFENCES: tuple[tuple[tuple[str, ...], float, tuple[str, ...], int], ...] = (
    (
        ("PPC 376",),
        0.4,
        ("Imprisonment for life", "25 years RI", "14 years RI and fine Rs. 200000"),
        35,
    ),
    (("PPC 377",), 0.7, ("10 years RI", "7 years RI and fine Rs. 100000"), 15),
    (("PPC 376", "PPC 377"), 0.6, ("Imprisonment for life", "20 years RI"), 8),
    (("PPC 377B",), 0.9, ("14 years RI", "10 years RI and fine Rs. 1000000"), 10),
    (("PPC 292B", "PPC 292C"), 1.0, ("7 years RI", "5 years RI and fine Rs. 500000"), 8),
    (("PPC 375A",), 0.3, ("Imprisonment for life", "25 years RI"), 5),
    (("PPC 371A",), 0.5, ("10 years RI",), 4),
    (("PECA 21",), 0.2, ("3 years and fine Rs. 500000", "2 years and fine Rs. 1000000"), 10),
    (("PECA 22",), 1.0, ("7 years and fine Rs. 5000000",), 5),
)
_TRAVEL_PURPOSES = ("Family wedding", "Funeral of a relative", "Medical treatment", "Work")


def _beats() -> list[tuple[str, Any]]:
    """(name, prepared polygon) of every demo Lahore beat."""
    beats = []
    for station in LAHORE.stations:
        for beat in station.beats:
            polygon = shape(beat.boundary)
            shapely.prepare(polygon)
            beats.append((beat.name, polygon))
    return beats


def _point_in(polygon: Any, rng: random.Random) -> tuple[float, float]:
    """A point well inside the polygon (off its edges, where the neighbour could claim it)."""
    inner = polygon.buffer(-0.001)
    min_lon, min_lat, max_lon, max_lat = inner.bounds
    while True:
        lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
        if inner.contains(shapely.Point(lon, lat)):
            return round(lon, 5), round(lat, 5)


def _day_between(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max((end - start).days, 0)))


def _phone(rng: random.Random) -> str:
    prefix, number = rng.choice(_MOBILE_PREFIXES), f"{rng.randint(0, 9_999_999):07d}"
    # Written the ways the NPB's records write them; the import normalises to E.164.
    return rng.choice((f"0{prefix}-{number}", f"+92{prefix}{number}", f"0{prefix}{number}"))


def demo_register_rows(count: int, *, seed: int = SEED) -> list[dict[str, str]]:
    """``count`` register rows as import-file cells (column → text), the same for one seed."""
    rng = random.Random(seed)  # noqa: S311 - demo data, deliberately reproducible
    beats = _beats()
    middles = rng.sample(range(1_000_000, 9_000_000), count)
    offences = [offence for offence in _OFFENCES for _ in range(offence[3])]
    rows = []
    for middle in middles:
        female = rng.random() < 0.03
        names = _FEMALE_NAMES if female else _FIRST_NAMES
        first = rng.choice(list(names))
        surname = rng.choice(list(_SURNAMES))
        father_first = rng.choice(list(_FATHER_FIRST))
        father_surname = surname if rng.random() < 0.7 else rng.choice(list(_SURNAMES))
        # The CNIC's last digit is odd for men and even for women (DOMAIN.md).
        sex_digit = rng.choice((2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
        beat_name, polygon = rng.choice(beats)
        lon, lat = _point_in(polygon, rng)
        sections, minor_chance, sentences, _weight = rng.choice(offences)
        status = OffenderStatus.ACTIVE if rng.random() < 0.85 else OffenderStatus.IN_CUSTODY
        if status == OffenderStatus.ACTIVE:
            convicted = _day_between(rng, date(2010, 1, 1), date(2022, 12, 31))
            released = _day_between(rng, convicted + timedelta(days=365), _LATEST_EVENT)
        else:
            convicted = _day_between(rng, date(2018, 1, 1), date(2025, 3, 31))
            released = None
        fir_year = convicted.year - rng.choice((0, 1, 1, 2))
        rows.append(
            {
                "cnic": f"{rng.choice(_CNIC_AREAS)}-{middle}-{sex_digit}",
                "full_name": f"{first} {surname}",
                "father_name": f"{father_first} {father_surname}",
                "full_name_ur": f"{names[first]} {_SURNAMES[surname]}",
                "father_name_ur": f"{_FATHER_FIRST[father_first]} {_SURNAMES[father_surname]}",
                "gender": "female" if female else "male",
                "date_of_birth": _day_between(
                    rng, date(1965, 1, 1), date(2002, 12, 31)
                ).isoformat(),
                "phone": _phone(rng) if rng.random() < 0.85 else "",
                "risk_tier": str(rng.choices((1, 2, 3), weights=(40, 40, 20))[0]),
                "status": status.value,
                "address_text": (
                    f"House {rng.randint(1, 250)}, Street {rng.randint(1, 40)}, {beat_name}, Lahore"
                ),
                "address_district": LAHORE.code,
                "address_lat": str(lat),
                "address_lon": str(lon),
                "released_on": released.isoformat() if released else "",
                "release_prison": rng.choice(_PRISONS) if released else "",
                "fir_number": f"{rng.randint(1, 950)}/{fir_year}",
                "police_station": rng.choice(_FIR_STATIONS),
                "court": rng.choice(_COURTS),
                "case_number": f"SC-{rng.randint(1, 600)}/{fir_year}",
                "conviction_date": convicted.isoformat(),
                "sentence": rng.choice(sentences),
                "sections": ";".join(sections),
                "victim_minor": "yes" if rng.random() < minor_chance else "no",
            }
        )
    return rows


def _file_notices(
    actor: Officer, offenders: list[Offender], rng: random.Random, summary: SeedSummary
) -> None:
    """A few notices still in flight: upcoming travel (some already acknowledged) and recent
    changes of employment, none of them late."""
    today = timezone.localdate()
    picks = rng.sample(offenders, 12)
    for position, offender in enumerate(picks):
        if position < 5:
            departure = today + timedelta(days=rng.randint(8, 30))
            notice = notice_file(
                actor=actor,
                offender_id=offender.pk,
                kind="domestic_travel",
                destination_district="kasur",
                departure_date=departure,
                return_date=departure + timedelta(days=rng.randint(2, 10)),
                purpose=rng.choice(_TRAVEL_PURPOSES),
            )
        elif position < 9:
            departure = today + timedelta(days=rng.randint(21, 60))
            country, city = rng.choice((("AE", "Dubai"), ("SA", "Jeddah"), ("SA", "Riyadh")))
            notice = notice_file(
                actor=actor,
                offender_id=offender.pk,
                kind="international_travel",
                destination_country=country,
                destination_city=city,
                departure_date=departure,
                return_date=departure + timedelta(days=rng.randint(7, 45)),
                purpose=rng.choice(_TRAVEL_PURPOSES),
            )
        else:
            notice = notice_file(
                actor=actor,
                offender_id=offender.pk,
                kind="employment_change",
                changed_on=today - timedelta(days=1),
                details={
                    "employer": rng.choice(("Ittefaq Foundry", "Lahore Textile Mills")),
                    "occupation": rng.choice(("Machine operator", "Driver", "Labourer")),
                },
            )
        if position in (0, 5):
            notice_acknowledge(actor=actor, notice_id=notice.pk)
        summary.count("notices", True)


@transaction.atomic
def seed_offenders() -> SeedSummary:
    """About 200 demo offenders in the demo Lahore beats, a few absconded, a few notices."""
    summary = SeedSummary(name="offenders")
    cells = demo_register_rows(DEMO_OFFENDERS)
    indexes = [cnic_blind_index(normalise_cnic(row["cnic"])) for row in cells]
    if Offender.objects.filter(cnic_index__in=indexes).exists():
        summary.created = {"offenders": 0, "absconded": 0, "notices": 0}
        return summary

    actor = Officer.objects.get(username=demo_username(Role.REGISTRY_ADMIN))
    report = register_import(
        actor=actor,
        rows=[
            ImportRow(line=line, data=register_row_data(row))
            for line, row in enumerate(cells, start=2)
        ],
        source_sha256="demo",
    )
    if report.problems:
        # The generator and the validation disagree: a bug here, not bad demo luck.
        raise RuntimeError(f"demo rows failed validation: {report.problem_lines()[:5]}")
    summary.created["offenders"] = report.imported

    rng = random.Random(SEED + 1)  # noqa: S311 - demo data, deliberately reproducible
    active = list(
        Offender.objects.filter(pk__in=report.offender_ids, status=OffenderStatus.ACTIVE)
        .select_related("district", "station")
        .order_by("pk")
    )
    absconders = set(rng.sample(range(len(active)), 12))
    for position in sorted(absconders):
        offender_transition(
            actor=actor,
            offender_id=active[position].pk,
            to_status=OffenderStatus.ABSCONDED,
            note="Not found at the registered address at verification; whereabouts unknown.",
        )
        summary.count("absconded", True)
    reporting = [o for position, o in enumerate(active) if position not in absconders]
    _file_notices(actor, reporting, rng, summary)
    return summary
