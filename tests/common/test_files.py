"""The one file-streaming response: typed by extension, never cached, 404 when storage lost it."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage
from django.db.models.fields.files import FieldFile, FileField

from common.exceptions import NotFound
from common.files import file_response

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
