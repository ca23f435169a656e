"""Offender photos: what is accepted and what is kept. Pure (Pillow, no Django).

- **JPEG or PNG only, decided by decoding the file** with Pillow, never by its name or the
  declared content type: a GIF, or text renamed ``.jpg``, is refused.
- **Only the pixels are kept.** EXIF (camera, GPS position of where the photo was taken,
  timestamps), ICC profiles, comments and PNG text chunks are dropped by re-encoding the
  decoded pixels into a new image. The EXIF orientation is applied to the pixels first, so a
  photo taken sideways is stored upright rather than losing its rotation with the metadata.
- A header declaring more than ``MAX_PIXELS`` is refused before decoding: a few kilobytes of
  compressed data can otherwise claim gigabytes of memory (a decompression bomb).
"""

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

ACCEPTED_FORMATS = ("JPEG", "PNG")
# Far above any camera or scanner portrait (a 24-megapixel camera is 6000 × 4000).
MAX_PIXELS = 50_000_000
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}
_JPEG_QUALITY = 90
NOT_AN_IMAGE = "A JPEG or PNG image is required."


class PhotoRejected(Exception):
    """The file is not an acceptable photo; the message is fit to show the user."""


@dataclass(frozen=True)
class CleanPhoto:
    content: bytes
    extension: str  # "jpg" or "png", a key of ``CONTENT_TYPES``
    width: int
    height: int


def _pixels_only(image: Image.Image, image_format: str) -> Image.Image:
    """A new image holding only ``image``'s pixels, in a mode its format stores."""
    upright = ImageOps.exif_transpose(image)
    if image_format == "JPEG":
        keep: tuple[str, ...] = ("L", "RGB")  # CMYK and friends become RGB
        fallback = "RGB"
    else:
        keep = ("L", "LA", "RGB", "RGBA")  # palettes and 16-bit become 8-bit RGB(A)
        has_alpha = "A" in upright.getbands() or "transparency" in upright.info
        fallback = "RGBA" if has_alpha else "RGB"
    if upright.mode not in keep:
        upright = upright.convert(fallback)
    return Image.frombytes(upright.mode, upright.size, upright.tobytes())


def photo_clean(data: bytes) -> CleanPhoto:
    """The photo re-encoded from its pixels alone (module docstring); raises ``PhotoRejected``."""
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            image_format = image.format or ""
            if image.width * image.height > MAX_PIXELS:
                raise PhotoRejected(f"At most {MAX_PIXELS // 1_000_000} megapixels.")
            image.load()  # decodes everything: a truncated or corrupt file fails here
            clean = _pixels_only(image, image_format)
    except PhotoRejected:
        raise
    # Not JPEG/PNG (``UnidentifiedImageError``), truncated or corrupt (``OSError``, and
    # ``SyntaxError``/``ValueError`` for malformed chunks), or a bomb above Pillow's own limit.
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoRejected(NOT_AN_IMAGE) from exc
    if image_format not in _EXTENSIONS:
        raise PhotoRejected(NOT_AN_IMAGE)
    out = io.BytesIO()
    if image_format == "JPEG":
        clean.save(out, format="JPEG", quality=_JPEG_QUALITY)
    else:
        clean.save(out, format="PNG")
    return CleanPhoto(
        content=out.getvalue(),
        extension=_EXTENSIONS[image_format],
        width=clean.width,
        height=clean.height,
    )
