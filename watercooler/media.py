"""Uploaded images: checked, cleaned and stored under `media.path`.

The real type is decided by decoding with Pillow (JPEG, PNG, GIF, WebP), never by the
client's content type or file name. Size and pixel count are checked before a pixel is
decoded, so a decompression bomb costs nothing. Every image is re-encoded: that applies the
EXIF orientation and drops all metadata (EXIF with its GPS position, XMP, comments; the
colour profile stays, as Mastodon keeps it). A GIF keeps only its first frame (as PNG).

Files are named by 128 random bits, so their URLs cannot be guessed, and written atomically
(temporary file, fsync, rename, fsync of the folder) before the row that names them commits.
Decoding and encoding are CPU work: callers run `process_image` in a thread
(`asyncio.to_thread`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import logging
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import blurhash
from PIL import Image, ImageOps, UnidentifiedImageError

from outbox.actors import IMAGE_MEDIA_TYPES as CONTENT_TYPES

log = logging.getLogger(__name__)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
IMAGE_MATRIX_LIMIT = 33_177_600  # 7680 x 4320, Mastodon's default
DESCRIPTION_LIMIT = 1500
ORIGINAL_PIXELS = 3840 * 2160  # larger originals are scaled down to this area (as Mastodon)
PREVIEW_BOX = (640, 640)
AVATAR_SIDE = 400
HEADER_BOX = (1500, 500)
BLURHASH_COMPONENTS = (4, 4)
JPEG_QUALITY = 90

_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
_OUTPUT_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "GIF": "PNG", "WEBP": "WEBP"}
"""What each decoded format is stored as: a GIF's first frame as PNG, a multi-picture JPEG
(MPO, from many phone cameras) as its first picture."""
FILE_NAME = re.compile(r"^[0-9a-f]{32}(?:-small)?\.(?:jpg|png|webp)$")
"""Every name `MediaFiles` writes; the media route serves nothing else."""


class Purpose(Enum):
    """What an image is for: an attachment (with a preview), an avatar or a header."""

    ATTACHMENT = "attachment"
    AVATAR = "avatar"
    HEADER = "header"

    @property
    def label(self) -> str:
        """How error messages name the upload, as Mastodon's validations do."""
        return "File" if self is Purpose.ATTACHMENT else self.value.capitalize()


class MediaRejected(Exception):
    """The upload is not an image we take, or it cannot be stored; `status` is the HTTP
    answer (413 or 422; 507 when the media folder is full or cannot be written)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Rendition:
    """One encoded image: its bytes, file extension and size in pixels."""

    data: bytes
    extension: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    original: Rendition
    preview: Rendition | None
    blurhash: str | None


# ----- processing ----------------------------------------------------------------------------


def _open(data: bytes, label: str) -> tuple[Image.Image, str, bytes | None]:
    """The first frame, upright, with its format and colour profile; MediaRejected if the
    bytes are no image of ours or too large to decode."""
    if not data:
        raise MediaRejected(422, f"Validation failed: {label} can't be blank")
    if len(data) > IMAGE_SIZE_LIMIT:
        raise MediaRejected(422, f"Validation failed: {label} file size must be less than 16 MB")
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as source:
            width, height = source.size
            if width < 1 or height < 1 or width * height > IMAGE_MATRIX_LIMIT:
                prefix = "" if label == "File" else f"{label}: "  # Mastodon's words for files
                raise MediaRejected(422, f"{prefix}{width}x{height} images are not supported")
            source_format = source.format or ""
            icc = source.info.get("icc_profile") if source.mode != "CMYK" else None
            source.seek(0)
            source.load()
            upright = ImageOps.exif_transpose(source)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaRejected(422, f"Validation failed: {label} content type is invalid") from None
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
        raise MediaRejected(422, f"Validation failed: {label} could not be processed") from None
    assert upright is not None
    return upright, source_format, icc if isinstance(icc, bytes) else None


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _normalised(image: Image.Image) -> Image.Image:
    """RGB, RGBA or greyscale: modes every encoder and client handles."""
    if _has_alpha(image):
        return image.convert("RGBA")
    if image.mode in ("L", "RGB"):
        return image
    return image.convert("RGB")


def _encode(image: Image.Image, file_format: str, icc: bytes | None) -> Rendition:
    """Re-encode with nothing of the source's metadata (`info` cleared, only `icc` given)."""
    if file_format == "JPEG" and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image.info = {}
    options: dict[str, object] = {"icc_profile": icc} if icc else {}
    if file_format in ("JPEG", "WEBP"):
        options["quality"] = JPEG_QUALITY
    buffer = io.BytesIO()
    image.save(buffer, file_format, **options)
    return Rendition(buffer.getvalue(), _EXTENSIONS[file_format], image.width, image.height)


def _scaled_to_area(image: Image.Image, pixels: int) -> Image.Image:
    area = image.width * image.height
    if area <= pixels:
        return image
    factor = (pixels / area) ** 0.5
    size = (max(1, int(image.width * factor)), max(1, int(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _square(image: Image.Image, side: int) -> Image.Image:
    """The centre square, at most `side` pixels wide (Mastodon crops avatars so)."""
    edge = min(image.width, image.height, side)
    return ImageOps.fit(image, (edge, edge), Image.Resampling.LANCZOS)


def _within(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    fitted = image.copy()
    fitted.thumbnail(box, Image.Resampling.LANCZOS)
    return fitted


def _blurhash(image: Image.Image) -> str | None:
    """Mastodon's 4x4-component blurhash, from a 32-pixel copy (transparency on white)."""
    tiny = _within(image, (32, 32))
    if tiny.mode != "RGB":
        backdrop = Image.new("RGBA", tiny.size, (255, 255, 255, 255))
        tiny = Image.alpha_composite(backdrop, tiny.convert("RGBA")).convert("RGB")
    raw = tiny.tobytes()
    width = tiny.width
    rows = [
        [list(raw[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)]
        for y in range(tiny.height)
    ]
    try:
        return str(blurhash.encode(rows, *BLURHASH_COMPONENTS))
    except (ValueError, ZeroDivisionError):
        return None


def process_image(data: bytes, purpose: Purpose = Purpose.ATTACHMENT) -> ProcessedImage:
    """Check, clean and encode an upload. Synchronous and CPU-bound: run it in a thread.

    An attachment keeps its format (a GIF becomes a PNG of its first frame), is scaled down
    to `ORIGINAL_PIXELS` if larger, and gets a preview within `PREVIEW_BOX` (JPEG, or PNG
    when transparent) and a blurhash. An avatar is cropped square to at most 400 pixels, a
    header fitted within 1500x500; neither gets a preview.
    """
    image, source_format, icc = _open(data, purpose.label)
    image = _normalised(image)
    file_format = _OUTPUT_FORMATS.get(source_format, "PNG")
    if purpose is Purpose.AVATAR:
        return ProcessedImage(_encode(_square(image, AVATAR_SIDE), file_format, icc), None, None)
    if purpose is Purpose.HEADER:
        return ProcessedImage(_encode(_within(image, HEADER_BOX), file_format, icc), None, None)
    original = _scaled_to_area(image, ORIGINAL_PIXELS)
    preview_format = "PNG" if _has_alpha(original) else "JPEG"
    preview = _encode(_within(original, PREVIEW_BOX), preview_format, icc)
    return ProcessedImage(_encode(original.copy(), file_format, icc), preview, _blurhash(original))


def parse_focus(value: object) -> tuple[float, float] | None:
    """Mastodon's `focus` parameter, `"x,y"` with each from -1.0 to 1.0; None when empty."""
    if value is None or value == "":
        return None
    try:
        x_text, y_text = str(value).split(",")
        x, y = float(x_text), float(y_text)
    except ValueError:
        raise MediaRejected(422, "Validation failed: focus must be two numbers x,y") from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise MediaRejected(422, "Validation failed: focus values go from -1.0 to 1.0")
    return x, y


def check_description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MediaRejected(422, "Validation failed: Description must be text")
    if len(value) > DESCRIPTION_LIMIT:
        raise MediaRejected(
            422,
            f"Validation failed: Description is too long (maximum is {DESCRIPTION_LIMIT}"
            " characters)",
        )
    return value


# ----- files ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image written under media.path: the names of its files and what they hold."""

    processed: ProcessedImage
    file_name: str
    preview_name: str | None


class MediaFiles:
    """The media folder. Files sit in subfolders by the first two characters of their name,
    so no folder grows past a few thousand entries."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path | None:
        """Where the file `name` lives, or None if `name` is not one we could have made."""
        if not FILE_NAME.match(name):
            return None
        return self.root / name[:2] / name

    def _write(self, name: str, data: bytes) -> None:
        path = self.path(name)
        assert path is not None, name
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def _store(self, processed: ProcessedImage) -> StoredImage:
        """Write both files, or neither: a full disk (or a folder we may not write) takes back
        what was written and answers 507, so no row can name a file that is not there."""
        token = secrets.token_hex(16)
        file_name = f"{token}.{processed.original.extension}"
        preview_name = None
        written: list[str] = []
        try:
            self._write(file_name, processed.original.data)
            written.append(file_name)
            if processed.preview is not None:
                preview_name = f"{token}-small.{processed.preview.extension}"
                self._write(preview_name, processed.preview.data)
        except OSError as error:
            for name in written:
                with contextlib.suppress(OSError):
                    os.unlink(self.root / name[:2] / name)
            log.error("media not written folder=%s error=%s", self.root, error)
            full = error.errno in (errno.ENOSPC, errno.EDQUOT)
            problem = "is full" if full else "cannot be written"
            raise MediaRejected(
                507, f"Insufficient storage: the media storage {problem}; nothing was saved."
            ) from error
        return StoredImage(processed, file_name, preview_name)

    async def save(self, data: bytes, purpose: Purpose = Purpose.ATTACHMENT) -> StoredImage:
        """Process and write an upload, off the event loop; MediaRejected if unusable."""
        return await asyncio.to_thread(lambda: self._store(process_image(data, purpose)))
