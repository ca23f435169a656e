"""An optional photo on confirmation: image only, metadata removed."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from checkins.models import Checkin
from tests.checkins.conftest import AT_STATION, sent_code

URL = "/api/v1/checkins/"


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _started(client, offender) -> int:
    response = client.post(
        URL, {"offender": offender.pk, "location": AT_STATION.__dict__}, format="json"
    )
    return response.json()["id"]


def test_photo_is_kept_without_its_metadata(
    client_for, station_officer, offender, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client = client_for(station_officer)
    checkin_id = _started(client, offender)
    original = _jpeg_with_exif()
    assert b"CameraMaker" in original

    response = client.post(
        f"{URL}{checkin_id}/verify/",
        {
            "code": sent_code(checkin_id),
            "unchanged": "true",
            "photo": SimpleUploadedFile("p.jpg", original, content_type="image/jpeg"),
        },
        format="multipart",
    )

    assert response.status_code == 200, response.content
    assert response.json()["has_photo"] is True
    stored = Checkin.objects.get(pk=checkin_id).photo.read()
    assert b"CameraMaker" not in stored
    assert Image.open(io.BytesIO(stored)).size == (40, 30)


def test_not_an_image_is_400_and_the_code_is_not_spent(client_for, station_officer, offender):
    client = client_for(station_officer)
    checkin_id = _started(client, offender)
    response = client.post(
        f"{URL}{checkin_id}/verify/",
        {
            "code": sent_code(checkin_id),
            "unchanged": "true",
            "photo": SimpleUploadedFile("p.jpg", b"not an image", content_type="image/jpeg"),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "photo" in response.json()["fields"]
    assert Checkin.objects.get(pk=checkin_id).status == "otp_sent"
