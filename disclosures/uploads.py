"""The FIR copy a records request carries: what is accepted and what is kept. No Django.

- **PDF, JPEG or PNG, decided by decoding the file**, never by its name or declared type: a
  PDF must open with pypdf and have at least one page; an image goes through the register's
  photo cleaner (``registry.photos.photo_clean``: decoded, re-encoded from its pixels, EXIF and
  the camera's GPS position dropped).
- **Size-limited** before anything is decoded (``max_bytes``).
- **A scan hook**: ``scanner(content, kind)`` is called on the bytes that will be kept; it
  raises ``UploadRejected`` (or returns False) to refuse them. A deployment plugs its malware
  scanner in by setting (``NIGRANI_FIR_COPY_SCANNER``, a dotted path).
"""

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from registry.photos import PhotoRejected, photo_clean

CONTENT_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}
MAX_PDF_PAGES = 50
NOT_ACCEPTED = "The FIR copy must be a PDF, JPEG or PNG file."

Scanner = Callable[[bytes, str], bool | None]

logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed uploads are ours to report


class UploadRejected(Exception):
    """The file is not an acceptable FIR copy; the message is fit to show the user."""


@dataclass(frozen=True)
class CleanUpload:
    content: bytes
    kind: str  # a key of CONTENT_TYPES


def _pdf_checked(data: bytes) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UploadRejected("An encrypted PDF cannot be checked: send it unprotected.")
        pages = len(reader.pages)
    except UploadRejected:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise UploadRejected(NOT_ACCEPTED) from exc
    if pages < 1:
        raise UploadRejected(NOT_ACCEPTED)
    if pages > MAX_PDF_PAGES:
        raise UploadRejected(f"At most {MAX_PDF_PAGES} pages.")
    return data


def fir_copy_clean(data: bytes, *, max_bytes: int, scanner: Scanner | None = None) -> CleanUpload:
    """The FIR copy as it will be kept (module docstring); raises ``UploadRejected``."""
    if not data:
        raise UploadRejected("The FIR copy is empty.")
    if len(data) > max_bytes:
        raise UploadRejected(f"The FIR copy may be at most {max_bytes // (1024 * 1024)} MB.")
    if data.startswith(b"%PDF-"):
        clean = CleanUpload(content=_pdf_checked(data), kind="pdf")
    else:
        try:
            photo = photo_clean(data)
        except PhotoRejected as exc:
            raise UploadRejected(NOT_ACCEPTED) from exc
        clean = CleanUpload(content=photo.content, kind=photo.extension)
    if scanner is not None and scanner(clean.content, clean.kind) is False:
        raise UploadRejected("The FIR copy was refused by the file scanner.")
    return clean
