"""The one file-streaming response: typed by extension, never cached, 404 when storage lost it."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage
from django.db.models.fields.files import FieldFile, FileField

from common.exceptions import NotFound
from common.files import content_response, file_response

TYPES = {"png": "image/png"}


def _stored(name: str, content: bytes | None) -> FieldFile:
    storage = InMemoryStorage()
    field = FileField(storage=storage)
    field.name = "photo"
    if content is not None:
        name = storage.save(name, ContentFile(content))
    return FieldFile(instance=None, field=field, name=name)


def test_file_is_streamed_under_the_given_name_with_its_type_and_not_cached() -> None:
    response = file_response(
        _stored("x/abc.PNG", b"\x89PNG"), filename="photo-1", content_types=TYPES
    )
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert 'filename="photo-1.png"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"\x89PNG"


def test_unknown_extension_is_octet_stream() -> None:
    response = file_response(_stored("x/abc.bin", b"1"), filename="f", content_types=TYPES)
    assert response["Content-Type"] == "application/octet-stream"


def test_file_missing_from_storage_is_a_404() -> None:
    with pytest.raises(NotFound):
        file_response(_stored("gone.png", None), filename="f", content_types=TYPES)


def test_as_attachment_is_a_download_under_the_given_name() -> None:
    response = file_response(
        _stored("x/abc.png", b"\x89PNG"), filename="f", content_types=TYPES, as_attachment=True
    )
    assert response["Content-Disposition"] == 'attachment; filename="f.png"'


def test_generated_content_is_a_download_not_cached() -> None:
    response = content_response(b"%PDF-1.4", filename="RR-1.pdf", content_type="application/pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="RR-1.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert response.content == b"%PDF-1.4"
