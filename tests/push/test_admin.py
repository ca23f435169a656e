"""The outbox in the admin: read-only, never a number or a text on the page."""

import pytest
from django.test import Client

from push import services
from tests.push.conftest import NUMBER

CHANGELIST = "/admin/push/smsmessage/"


@pytest.fixture
def superuser_client(system_admin) -> Client:
    system_admin.is_staff = system_admin.is_superuser = True
    system_admin.save()
    client = Client()
    client.force_login(system_admin)
    return client


def test_outbox_pages_show_neither_number_nor_text(superuser_client):
    message = services.sms_enqueue(to=NUMBER, text="Reminder text here", purpose="checkin_reminder")

    listing = superuser_client.get(CHANGELIST)
    detail = superuser_client.get(f"{CHANGELIST}{message.pk}/change/")

    assert listing.status_code == 200
    assert detail.status_code == 200
    for page in (listing.content.decode(), detail.content.decode()):
        assert "checkin_reminder" in page
        assert NUMBER not in page
        assert "3001234567" not in page
        assert "Reminder text here" not in page
        assert "v1:test1:" not in page  # not even the ciphertext


def test_outbox_cannot_be_changed_added_or_deleted(superuser_client):
    message = services.sms_enqueue(to=NUMBER, text="Hello", purpose="test")

    assert superuser_client.get(f"{CHANGELIST}add/").status_code == 403
    assert superuser_client.post(f"{CHANGELIST}{message.pk}/delete/").status_code == 403
    page = superuser_client.get(f"{CHANGELIST}{message.pk}/change/").content.decode()
    assert 'name="_save"' not in page
