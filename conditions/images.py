"""Uploaded images: decoded, checked and re-encoded with Pillow, never stored as sent.

What is kept is what Pillow decoded, written again by Pillow: JPEG (a camera's MPO
too), PNG, WebP or GIF (the first frame of an animation), in a colour mode browsers
show (``_web_mode``: 16-bit greyscale scaled to 8 bits, CMYK to RGB), turned upright from its EXIF orientation, with no
metadata at all (EXIF, GPS, XMP, ICC comments), capped at ``MAX_SIDE`` pixels, plus
WebP renditions at ``RENDITION_WIDTHS`` for ``srcset``. The stored name and extension
come from the decoded format, never from the client's file name. Everything else is
refused with a message an editor can act on: files that are not images whatever their
name (SVG included: it is a document that can run script, not a picture), empty,
truncated or oversized files, and decompression bombs.
"""

import io
import warnings

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import ArticleImage

FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# Formats Pillow names apart that are one of ours: a camera's MPO is a JPEG with a second
# picture (a preview or the other eye of a 3D pair) after the first; the first is kept.
SAME_AS = {"MPO": "JPEG"}
RENDITION_WIDTHS = (480, 960, 1440)
MAX_SIDE = 2400
MAX_PIXELS = 40_000_000  # far above any real photo, far below what would exhaust memory


class ImageRejected(Exception):
    """The upload is not an image we keep; ``str(error)`` says why, for the editor."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def max_bytes():
    return settings.HEALTHLIB_MAX_IMAGE_BYTES


def decode(data):
    """The decoded image and its format, or ``ImageRejected``."""
    if not data:
        raise ImageRejected("The file is empty.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS and image.format not in SAME_AS:
                raise ImageRejected(f"{image.format} images are not accepted: upload a JPEG, PNG, WebP or GIF.")
            if image.width * image.height > MAX_PIXELS:
                raise ImageRejected(f"The image is {image.width} × {image.height} pixels, too large to process: keep it under 40 megapixels.")
            image.load()
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected("The image declares more pixels than it could safely be opened with (a decompression bomb).") from None
        except UnidentifiedImageError:
            raise ImageRejected("This file is not an image we can read: upload a JPEG, PNG, WebP or GIF (SVG is not accepted).") from None
        except (OSError, SyntaxError, ValueError, EOFError):
            raise ImageRejected("The image is damaged or incomplete (it could not be decoded): export it again and retry.") from None
    return image, SAME_AS.get(image.format, image.format)


# The modes each stored format keeps as they are; any other is converted (see _web_mode).
KEPT_MODES = {"JPEG": {"L", "RGB"}, "PNG": {"L", "LA", "RGB", "RGBA"}, "WEBP": {"RGB", "RGBA"}, "GIF": {"P"}}
SIXTEEN_BIT_GREY = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


def _web_mode(image, fmt):
    """``image`` in a mode that ``fmt`` stores and browsers show, the picture unchanged.

    16-bit greyscale (as medical imaging software exports PNGs) is scaled to 8 bits
    (0–65,535 → 0–255) rather than clipped, which would turn all but the darkest
    pixels white. Transparency is kept where the format has it. Raises ``ImageRejected``
    for a mode Pillow cannot convert.
    """
    mode = image.mode
    try:
        if mode in SIXTEEN_BIT_GREY:
            image = image.convert("I").point(lambda value: value * (1 / 257) + 0.5).convert("L")  # rounded
        if fmt == "GIF":
            return image.copy() if image.mode == "P" else image.convert("RGBA").convert("P", palette=Image.Palette.ADAPTIVE)
        if image.mode in KEPT_MODES[fmt]:
            return image
        alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
        if fmt == "JPEG":  # no transparency: on white, as a browser would show it on the page
            if alpha:
                rgba = image.convert("RGBA")
                image = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            return image.convert("RGB")
        if fmt == "PNG" and image.mode == "1":
            return image.convert("L")
        return image.convert("RGBA" if alpha else "RGB")
    except (ValueError, OSError):
        raise ImageRejected(f"This {fmt} image uses a colour mode ({mode}) we cannot convert for the web: "
                            "export it as an 8-bit RGB image and retry.") from None


def _prepare(image, fmt):
    image = ImageOps.exif_transpose(image)  # upright, as the camera meant it
    image = _web_mode(image, fmt)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def _encode(image, fmt):
    buffer = io.BytesIO()
    options = {"JPEG": {"quality": 85, "optimize": True}, "PNG": {"optimize": True}, "WEBP": {"quality": 82}, "GIF": {}}[fmt]
    # No exif=, icc_profile= or pnginfo= arguments: Pillow writes no metadata then.
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def store_upload(uploaded, user=None):
    """Check and re-encode an uploaded file; return the saved ``ArticleImage``."""
    if uploaded.size > max_bytes():
        raise ImageRejected(f"The file is {uploaded.size / 1e6:.1f} MB; the limit is {max_bytes() / 1e6:.0f} MB.", status=413)
    image, fmt = decode(uploaded.read(max_bytes() + 1))
    image = _prepare(image, fmt)
    record = ArticleImage(
        format=FORMATS[fmt],
        width=image.width,
        height=image.height,
        renditions=[width for width in RENDITION_WIDTHS if width < image.width],
        original_name=(uploaded.name or "")[-255:],
        uploaded_by=user if user is not None and user.is_authenticated else None,
    )
    files = {record.file_name(): _encode(image, fmt)}
    for width in record.renditions:
        height = max(1, round(image.height * width / image.width))
        rendition = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").resize((width, height), Image.Resampling.LANCZOS)
        files[record.file_name(width)] = _encode(rendition, "WEBP")
    with transaction.atomic():
        record.save()
        for name, content in files.items():
            default_storage.save(name, ContentFile(content))
    return record
