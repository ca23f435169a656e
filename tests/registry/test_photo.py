"""The offender photo: PUT and GET /api/v1/offenders/{id}/photo/ — JPEG or PNG by content,
size limit, metadata stripped, random storage names, the previous file deleted after commit,
scoping and the audit trail."""

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from audit.models import AuditEvent
from registry.models import Offender
from registry.photos import NOT_AN_IMAGE
from tests.registry.offender_data import register, reload

GPS_IFD = 0x8825
MAKE = 0x010F


def url(offender_id: int, purpose: str = "") -> str:
    query = f"?purpose={purpose}" if purpose else ""
    return f"/api/v1/offenders/{offender_id}/photo/{query}"


def image_bytes(image_format: str, *, size=(64, 48), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 40, 40))
    if exif is not None:
        image.save(out, format=image_format, exif=exif)
    else:
        image.save(out, format=image_format)
    return out.getvalue()


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> dict:
    return {"photo": SimpleUploadedFile(name, content, content_type=content_type)}


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def offender(world, registry_admin) -> Offender:
    """In custody in lahore, station lahore-a."""
    return register(registry_admin)


def put(client, offender: Offender, files: dict):
    return client.put(url(offender.pk), files, format="multipart")


# --- upload --------------------------------------------------------------------------------


@pytest.mark.parametrize(("image_format", "extension"), [("PNG", "png"), ("JPEG", "jpg")])
def test_png_and_jpeg_are_stored_under_a_random_name(
    client_for, data_entry, offender, media, image_format, extension
):
    response = put(
        client_for(data_entry),
        offender,
        upload(f"{offender.full_name}.bin", image_bytes(image_format), "text/plain"),
    )

    assert response.status_code == 200
    assert response.json()["photo"] == url(offender.pk)
    name = reload(offender).photo.name
    assert re.fullmatch(rf"offenders/photos/[0-9a-f]{{32}}\.{extension}", name)
    with Image.open(media / name) as stored:
        assert (stored.format, stored.size) == (image_format, (64, 48))


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("photo.gif", image_bytes("GIF"), "image/gif"),
        ("photo.jpg", image_bytes("GIF"), "image/jpeg"),
        ("photo.jpg", b"just some text, renamed\n" * 10, "image/jpeg"),
        ("photo.png", image_bytes("PNG")[:60], "image/png"),  # truncated
    ],
)
def test_anything_but_a_readable_jpeg_or_png_is_400_on_photo(
    client_for, data_entry, offender, media, name, content, content_type
):
    response = put(client_for(data_entry), offender, upload(name, content, content_type))

    assert response.status_code == 400
    assert response.json()["fields"] == {"photo": [NOT_AN_IMAGE]}
    assert not reload(offender).photo
    assert not any(media.rglob("*.*"))


def test_a_file_over_the_size_limit_is_400(client_for, data_entry, offender, media, settings):
    content = image_bytes("PNG", size=(200, 200))
    settings.NIGRANI_PHOTO_MAX_BYTES = len(content) - 1

    response = put(client_for(data_entry), offender, upload("p.png", content))

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["photo"]
    assert not reload(offender).photo


def test_exif_is_stripped(client_for, data_entry, offender, media):
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 30.0, 15.0), 3: "E", 4: (74.0, 20.0, 5.0)})
    content = image_bytes("JPEG", exif=exif)
    with Image.open(io.BytesIO(content)) as original:  # the test's premise
        assert original.getexif()[MAKE] == "PhoneMaker"
        assert original.getexif().get_ifd(GPS_IFD)

    response = put(client_for(data_entry), offender, upload("p.jpg", content))

    assert response.status_code == 200
    stored_bytes = (media / reload(offender).photo.name).read_bytes()
    with Image.open(io.BytesIO(stored_bytes)) as stored:
        assert dict(stored.getexif()) == {}
        assert "exif" not in stored.info
    assert b"PhoneMaker" not in stored_bytes


def test_exif_orientation_is_applied_to_the_pixels(client_for, data_entry, offender, media):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    content = image_bytes("JPEG", size=(64, 48), exif=exif)

    put(client_for(data_entry), offender, upload("p.jpg", content))

    with Image.open(media / reload(offender).photo.name) as stored:
        assert stored.size == (48, 64)


def test_replacing_deletes_the_previous_file_after_commit(
    client_for, data_entry, offender, media, django_capture_on_commit_callbacks
):
    client = client_for(data_entry)
    put(client, offender, upload("a.png", image_bytes("PNG")))
    first = media / reload(offender).photo.name

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        put(client, offender, upload("b.jpg", image_bytes("JPEG")))
    second = media / reload(offender).photo.name

    assert first.exists()  # not before the commit
    for callback in callbacks:
        callback()
    assert not first.exists()
    assert second.exists()


def test_upload_is_audited(client_for, data_entry, offender, media):
    put(client_for(data_entry), offender, upload("a.png", image_bytes("PNG")))

    event = AuditEvent.objects.filter(object_type="offender", object_id=str(offender.pk)).latest(
        "id"
    )
    assert (event.action, event.actor_id) == ("update", data_entry.pk)
    assert event.details["fields"] == ["photo"]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("data_entry_elsewhere", 404), ("station_officer", 403), ("control_room", 403)],
)
def test_upload_by_role(request, client_for, offender, media, persona, expected):
    response = put(
        client_for(request.getfixturevalue(persona)),
        offender,
        upload("a.png", image_bytes("PNG")),
    )

    assert response.status_code == expected
    assert not reload(offender).photo
    assert not any(media.rglob("*.*"))


def test_upload_without_the_field_is_400(client_for, data_entry, offender, media):
    response = client_for(data_entry).put(url(offender.pk), {}, format="multipart")

    assert response.status_code == 400
    assert "photo" in response.json()["fields"]


# --- download ------------------------------------------------------------------------------


@pytest.fixture
def with_photo(client_for, data_entry, offender, media) -> bytes:
    """The offender with a PNG photo; the bytes as stored."""
    put(client_for(data_entry), offender, upload("a.png", image_bytes("PNG")))
    return (media / reload(offender).photo.name).read_bytes()


@pytest.mark.parametrize("persona", ["data_entry", "station_officer", "control_room"])
def test_download_streams_the_stored_bytes(request, client_for, offender, with_photo, persona):
    response = client_for(request.getfixturevalue(persona)).get(
        url(offender.pk, purpose="supervision"), HTTP_ACCEPT="image/*"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == with_photo


def test_download_is_audited_with_its_purpose(client_for, control_room, offender, with_photo):
    client_for(control_room).get(url(offender.pk, purpose="verification"))

    event = AuditEvent.objects.filter(action="read", object_id=str(offender.pk)).latest("id")
    assert (event.actor_id, event.purpose, event.details["view"]) == (
        control_room.pk,
        "verification",
        "photo",
    )


@pytest.mark.parametrize("persona", ["data_entry_elsewhere", "station_officer_elsewhere"])
def test_download_out_of_scope_is_404(request, client_for, offender, with_photo, persona):
    response = client_for(request.getfixturevalue(persona)).get(
        url(offender.pk, purpose="supervision"), HTTP_ACCEPT="image/*"
    )

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_download_without_purpose_is_400(client_for, control_room, offender, with_photo):
    response = client_for(control_room).get(url(offender.pk))

    assert response.status_code == 400
    assert "purpose" in response.json()["fields"]


def test_no_photo_is_404_and_null_in_the_record(client_for, control_room, offender, media):
    client = client_for(control_room)

    assert client.get(url(offender.pk, purpose="supervision")).status_code == 404
    record = client.get(f"/api/v1/offenders/{offender.pk}/?purpose=supervision").json()
    assert record["photo"] is None


def test_anonymous_is_401(api_client, offender, with_photo):
    assert api_client.get(url(offender.pk, purpose="supervision")).status_code == 401
