"""Visit photos in an S3-compatible store (a fake one on 127.0.0.1), and the settings that
choose the store."""

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mobile_api.models import VisitPhoto
from tests.mobile_api.conftest import jpeg_with_gps_exif, upload, visit_body, visits_url

ROOT = Path(__file__).resolve().parents[2]


class _FakeS3(BaseHTTPRequestHandler):
    """Just enough of S3 (path-style HEAD/GET/PUT/DELETE of objects) for django-storages."""

    objects: dict[str, bytes] = {}

    def log_message(self, *args) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"0"')
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        body = self.objects.get(self.path.split("?")[0])
        self._reply(200 if body is not None else 404, body or b"", head=True)

    def do_GET(self) -> None:  # noqa: N802
        body = self.objects.get(self.path.split("?")[0])
        self._reply(200 if body is not None else 404, body or b"")

    def do_PUT(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        self.objects[self.path.split("?")[0]] = self.rfile.read(length)
        self._reply(200)

    def do_DELETE(self) -> None:  # noqa: N802
        self.objects.pop(self.path.split("?")[0], None)
        self._reply(204)


@pytest.fixture
def fake_s3(settings, monkeypatch):
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    monkeypatch.setenv("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeS3)
    _FakeS3.objects = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "nigrani-test",
                "endpoint_url": f"http://127.0.0.1:{server.server_port}",
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "addressing_style": "path",
                "default_acl": None,
                "file_overwrite": False,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    yield _FakeS3.objects
    server.shutdown()
    server.server_close()


def test_visit_photos_go_to_the_s3_store_and_come_back_through_the_api(
    fake_s3, client_for, beat_officer, station_officer, task_a1
):
    response = client_for(beat_officer).post(
        visits_url(task_a1),
        {**visit_body(mock_location=True), "photos": [upload("door.jpg", jpeg_with_gps_exif())]},
        format="multipart",
    )
    assert response.status_code == 200, response.json()

    photo = VisitPhoto.objects.get()
    key = f"/nigrani-test/{photo.file.name}"
    assert list(fake_s3) == [key]
    assert fake_s3[key][:2] == b"\xff\xd8"  # a JPEG
    download = client_for(station_officer).get(
        f"/api/v1/verification/visits/{photo.visit_id}/photos/{photo.pk}/"
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == fake_s3[key]


def _storages_under(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NIGRANI_MEDIA")}
    clean.update(env, NIGRANI_DEV="1", DJANGO_SETTINGS_MODULE="backend.settings")
    code = "from django.conf import settings; print(settings.STORAGES)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_choose_the_filesystem_by_default_and_s3_by_setting():
    default = _storages_under()
    assert default.returncode == 0, default.stderr
    assert "FileSystemStorage" in default.stdout
    assert "StaticFilesStorage" in default.stdout

    s3 = _storages_under(
        NIGRANI_MEDIA_STORAGE="s3",
        NIGRANI_S3_BUCKET="evidence",
        NIGRANI_S3_ENDPOINT_URL="https://minio.example.pk",
    )
    assert s3.returncode == 0, s3.stderr
    assert "storages.backends.s3.S3Storage" in s3.stdout
    assert "'bucket_name': 'evidence'" in s3.stdout
    assert "StaticFilesStorage" in s3.stdout

    missing = _storages_under(NIGRANI_MEDIA_STORAGE="s3")
    assert missing.returncode != 0
    assert "NIGRANI_S3_BUCKET" in missing.stderr
    wrong = _storages_under(NIGRANI_MEDIA_STORAGE="ftp")
    assert wrong.returncode != 0
    assert "NIGRANI_MEDIA_STORAGE" in wrong.stderr
