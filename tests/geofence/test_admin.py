"""The geofence admin shows rows and never lets them be changed; no credential hash shown."""

import pytest
from django.contrib import admin

from geofence.models import TrackingDevice, Zone

pytestmark = pytest.mark.django_db


def test_device_admin_is_read_only_and_hides_the_credential_hash(rf, enrolled, registry_admin):
    device, _ = enrolled
    model_admin = admin.site._registry[TrackingDevice]
    request = rf.get("/")
    request.user = registry_admin
    assert not model_admin.has_change_permission(request, device)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request, device)
    assert "credential_hash" not in model_admin.get_readonly_fields(request, device)
    assert "credential_hash" in model_admin.exclude


def test_zone_admin_is_read_only(rf, registry_admin):
    model_admin = admin.site._registry[Zone]
    request = rf.get("/")
    request.user = registry_admin
    assert not model_admin.has_add_permission(request)
