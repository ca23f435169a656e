"""CNIC, phone and the DNA/biometric references are encrypted at rest: the raw table holds
none of their digits, and exact CNIC lookup goes through the blind index."""

from django.db import connection

from registry.identifiers import cnic_blind_index
from registry.selectors import offender_list
from registry.services.offenders import offender_create
from tests.registry.offender_data import body


def raw_rows(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
        return repr(cursor.fetchall())


def test_raw_offender_table_holds_no_cnic_or_phone_digits(world, data_entry):
    offender_create(
        actor=data_entry,
        data=body(dna_profile_ref="FSL-DNA-2021-0042", biometric_ref="NADRA-BIO-77"),
    )

    raw = raw_rows("registry_offender")
    for protected in (
        "35202-1234567-1",
        "3520212345671",
        "1234567",
        "+923001234567",
        "3001234567",
        "FSL-DNA",
        "NADRA-BIO",
    ):
        assert protected not in raw
    assert "v1:" in raw  # the stored form is the ciphertext


def test_cnic_is_found_by_its_blind_index_only(world, registry_admin):
    offender = offender_create(actor=registry_admin, data=body())

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM registry_offender WHERE cnic_index = %s",
            [cnic_blind_index("35202-1234567-1")],
        )
        assert cursor.fetchall() == [(offender.pk,)]
    found = offender_list(actor=registry_admin, cnic="3520212345671")
    assert list(found) == [offender]
    assert not offender_list(actor=registry_admin, cnic="35202-1234567-3").exists()


def test_audit_and_address_tables_hold_no_cnic_or_phone(world, data_entry):
    offender_create(actor=data_entry, data=body())

    for table in ("audit_auditevent", "registry_address", "registry_statuschange"):
        raw = raw_rows(table)
        assert "1234567" not in raw
        assert "3001234567" not in raw
