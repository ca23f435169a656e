"""``rotate_keys`` moves every encrypted value under the active key, and only that."""

import base64
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import TOTPDevice
from audit.models import AuditEvent
from common.crypto import KeyRing
from registry.models import Offender
from tests.factories import OffenderFactory

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()
GONE = base64.b64encode(b"g" * 32).decode()


def _raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def _rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_keys", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_rows(settings, world, registry_admin):
    """Two offenders and a TOTP device written while only the old key existed."""
    settings.NIGRANI_ENCRYPTION_KEYS = f"old:{OLD}"
    offenders = [
        OffenderFactory(district=world.lahore, cnic="35202-1111111-1", phone="+923001111111"),
        OffenderFactory(district=world.lahore, cnic="35202-2222222-3", phone=""),
    ]
    device = TOTPDevice.objects.create(officer=registry_admin, secret="JBSWY3DPEHPK3PXP")
    return offenders, device


def test_rotation_reencrypts_every_field_under_the_new_key(settings, old_rows):
    (first, second), device = old_rows
    index_before = [o.cnic_index for o in (first, second)]
    assert _raw("registry_offender", "cnic", first.pk).startswith("v1:old:")

    settings.NIGRANI_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"
    report = _rotate("--batch-size", "1")  # several batches

    assert "registry.Offender.cnic: re-encrypted 2" in report
    assert "registry.Offender.phone: re-encrypted 1" in report  # the empty one stays empty
    assert "accounts.TOTPDevice.secret: re-encrypted 1" in report
    for pk in (first.pk, second.pk):
        assert _raw("registry_offender", "cnic", pk).startswith("v1:new:")
    assert _raw("registry_offender", "phone", second.pk) == ""
    assert _raw("accounts_totpdevice", "secret", device.pk).startswith("v1:new:")

    # Only the new key is needed from now on, and every value reads back unchanged.
    settings.NIGRANI_ENCRYPTION_KEYS = f"new:{NEW}"
    reread = Offender.objects.order_by("id").filter(pk__in=[first.pk, second.pk])
    assert [(o.cnic, o.phone) for o in reread] == [
        ("35202-1111111-1", "+923001111111"),
        ("35202-2222222-3", ""),
    ]
    assert [o.cnic_index for o in reread] == index_before  # blind index untouched
    assert TOTPDevice.objects.get(pk=device.pk).secret == "JBSWY3DPEHPK3PXP"


def test_rotation_is_audited_once_without_values(settings, old_rows):
    settings.NIGRANI_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"
    before = AuditEvent.objects.count()
    _rotate()
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert (event.action, event.object_type, event.object_id) == (
        "update",
        "encryption_keys",
        "new",
    )
    assert event.details["rotated"]["registry.Offender.cnic"] == 2
    assert "35202" not in str(event.details)


def test_second_run_changes_nothing(settings, old_rows):
    settings.NIGRANI_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"
    _rotate()
    (first, _second), _device = old_rows
    stored = _raw("registry_offender", "cnic", first.pk)
    events = AuditEvent.objects.count()

    report = _rotate()

    assert "total: re-encrypted 0" in report
    assert _raw("registry_offender", "cnic", first.pk) == stored
    assert AuditEvent.objects.count() == events


def test_dry_run_counts_but_writes_nothing(settings, old_rows):
    (first, _second), _device = old_rows
    stored = _raw("registry_offender", "cnic", first.pk)
    settings.NIGRANI_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"

    report = _rotate("--dry-run")

    assert "registry.Offender.cnic: would re-encrypt 2" in report
    assert _raw("registry_offender", "cnic", first.pk) == stored


def test_values_under_a_key_missing_from_the_ring_are_reported_by_id_only(
    settings, world, old_rows
):
    settings.NIGRANI_ENCRYPTION_KEYS = f"gone:{GONE}"
    lost = OffenderFactory(district=world.lahore, cnic="35202-3333333-5")
    settings.NIGRANI_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"

    with pytest.raises(CommandError) as excinfo:
        _rotate()

    assert str(lost.pk) in str(excinfo.value)
    assert "35202" not in str(excinfo.value)
    # Everything readable was still rotated; the lost value is left exactly as it was.
    (first, _second), _device = old_rows
    assert _raw("registry_offender", "cnic", first.pk).startswith("v1:new:")
    assert KeyRing.key_id_of(_raw("registry_offender", "cnic", lost.pk)) == "gone"
