"""Decoding image and mask files the same way for both sides, and resizing with antialiasing.

Every file, real or synthetic, goes through :func:`decode_image`, so a difference between
the two sides can never come from two different decoders. Decisions (recorded in
``docs/masks.md`` and in the package docstring):

- Alpha is **dropped**, not composited: Keras ``load_img(color_mode="rgb")`` and
  ``tf.image.decode_image(channels=3)`` both drop it, so the model sees what it saw in training.
  A non-opaque alpha channel is reported (``info["alpha_dropped"]``) so the caller can record it.
- 16-bit samples are scaled to 8 bits by ``round(v / 257)`` (65535 -> 255, exact for 257 * k).
- EXIF orientation is applied (``PIL.ImageOps.exif_transpose``) before anything else.
- 32-bit float images are refused (their value range is a guess), as are undecodable files.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gapviz._checks import argument_error, check_size, is_int
from gapviz._errors import GapvizError
from gapviz.inputs._png_strips import png_reduced
from gapviz.inputs._size import reduce_factor

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_EXIF_ORIENTATION = 0x0112
#: images with more pixels than this are decoded at reduced size when a smaller size is all that is needed
REDUCE_ABOVE = 2048 * 2048
#: formats without reduced decoding are decoded whole: one such large image at a time bounds memory
_LARGE_DECODE = threading.BoundedSemaphore(1)


class DecodeError(GapvizError):
    """An image or mask file could not be decoded.

    ``compare()`` skips the pair and records ``path`` and ``reason``; only fewer than two
    usable pairs is fatal there.

    Attributes
    ----------
    path : str
        The file (or ``"<bytes>"``) that failed.
    reason : str
        What went wrong, in one line.

    Examples
    --------
    >>> from gapviz.inputs import decode_image
    >>> try:
    ...     decode_image(b"not an image")
    ... except DecodeError as exc:
    ...     print(exc.path, "|", exc.reason)
    ...     print(exc)
    <bytes> | not a recognised image format (corrupt or not an image)
    cannot decode image '<bytes>': not a recognised image format (corrupt or not an image)
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot decode image {path!r}: {reason}")


def _source_name(src: Any, name: str | None) -> str:
    if name is not None:
        return name
    if isinstance(src, (bytes, bytearray, memoryview)):
        return "<bytes>"
    return os.fspath(src)


def _open(src: Any, label: str, need: tuple[int, int] | None = None) -> Image.Image:
    """Open and decode ``src``; with ``need`` (the oriented ``(H, W)`` the caller needs), a large image
    is decoded at reduced size (JPEG ``draft``; other formats ``reduce`` right after decoding)."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        fp: Any = io.BytesIO(bytes(src))
    elif isinstance(src, (str, os.PathLike)):
        fp = os.fspath(src)
    else:
        raise GapvizError(
            f"decode_image expects a file path or bytes, got {type(src).__name__}; "
            "pass arrays straight to build_pairs instead"
        )
    try:
        im = Image.open(fp)
        im = _load_reduced(im, need)  # decodes now, so a truncated file fails here and not later
    except FileNotFoundError:
        raise DecodeError(label, "file not found") from None
    except UnidentifiedImageError:
        raise DecodeError(label, _unidentified_reason(src)) from None
    except Image.DecompressionBombError as exc:
        raise DecodeError(label, f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(label, f"corrupt or truncated file ({exc})") from None
    return im


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation, read from the header only.

    Pillow's ``PngImageFile.getexif`` decodes the whole image to look for an eXIf chunk after the
    pixels; a PNG whose eXIf chunk is not in its header is taken as upright instead (the decoded
    image is transposed later, when its EXIF is known).
    """
    if im.format == "PNG" and "exif" not in im.info:
        return 1
    try:
        return im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # malformed EXIF: reported later by the decoder
        return 1


def _oriented_size(im: Image.Image) -> tuple[int, int]:
    w, h = im.size
    return (w, h) if _orientation(im) in (5, 6, 7, 8) else (h, w)


def _load_reduced(im: Image.Image, need: tuple[int, int] | None) -> Image.Image:
    w, h = im.size
    if need is None or w * h <= REDUCE_ABOVE:
        im.load()
        return im
    oh, ow = _oriented_size(im)
    factor = reduce_factor(oh, ow, need)
    im.info["gapviz_native_size"] = (oh, ow)
    if factor < 2:
        with _LARGE_DECODE:
            im.load()
        return im
    if im.format == "JPEG":
        # DCT-domain scaling by 1/2, 1/4 or 1/8: the full-size image never exists in memory
        im.draft(im.mode, (max(1, w // factor), max(1, h // factor)))
        im.load()
        return im
    if im.format == "PNG":
        with _LARGE_DECODE:
            fh = open(im.filename, "rb") if getattr(im, "filename", "") else im.fp
            try:
                strips = png_reduced(fh, factor)
            finally:
                if fh is not im.fp:
                    fh.close()
        if strips is not None:
            strips.info.update({k: v for k, v in im.info.items() if k not in strips.info})
            im.close()
            return strips
    with _LARGE_DECODE:
        im.load()
        try:
            reduced = im.reduce(factor)
        except (ValueError, NotImplementedError):  # modes reduce() does not support: keep the full image
            return im
    reduced.info.update(im.info)
    im.close()
    return reduced


def _unidentified_reason(src: Any) -> str:
    """Why Pillow could not identify a file, in terms the user can act on."""
    try:
        if isinstance(src, (bytes, bytearray, memoryview)):
            head = bytes(src[:4096])
        else:
            with open(os.fspath(src), "rb") as fh:
                head = fh.read(4096)
    except OSError as exc:
        return f"unreadable file ({exc.strerror or exc})"
    if not head:
        return "empty file (0 bytes)"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        tiff = _tiff_sample_format(head)
        if tiff:
            return f"TIFF with {tiff}, which gapviz cannot decode; save it as 8- or 16-bit integer RGB (PNG or TIFF)"
        return "TIFF that Pillow cannot decode (unsupported compression or layout); save it as 8- or 16-bit PNG"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "HEIC/AVIF image, which gapviz cannot decode; convert it to PNG or JPEG"
    return "not a recognised image format (corrupt or not an image)"


def _tiff_sample_format(head: bytes) -> str | None:
    """``"32-bit float samples (3 channels)"`` and the like, from the first TIFF directory in ``head``."""
    import struct

    order = "<" if head[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack(order + "I", head[4:8])
        (count,) = struct.unpack(order + "H", head[offset : offset + 2])
        tags: dict[int, int] = {}
        for i in range(count):
            entry = head[offset + 2 + 12 * i : offset + 14 + 12 * i]
            tag, kind, n = struct.unpack(order + "HHI", entry[:8])
            if kind == 3:  # SHORT: the first value sits in the entry (or behind the offset when n > 2)
                if n <= 2:
                    value = struct.unpack(order + "H", entry[8:10])[0]
                else:
                    (at,) = struct.unpack(order + "I", entry[8:12])
                    value = struct.unpack(order + "H", head[at : at + 2])[0]
            elif kind == 4:
                value = struct.unpack(order + "I", entry[8:12])[0]
            else:
                continue
            tags[tag] = value
    except (struct.error, IndexError):
        return None
    bits, channels, fmt = tags.get(258, 1), tags.get(277, 1), tags.get(339, 1)
    kind = {1: "unsigned integer", 2: "signed integer", 3: "float"}.get(fmt, f"sample format {fmt}")
    if fmt == 3 or bits not in (1, 8, 16):
        return f"{bits}-bit {kind} samples ({channels} channels)"
    return None


def _to_uint8_rgb(im: Image.Image, label: str, info: dict[str, Any]) -> np.ndarray:
    mode = im.mode
    if mode in _SIXTEEN_BIT_MODES:
        a = np.asarray(im).astype(np.float64)
        grey = np.clip(np.rint(a / 257.0), 0, 255).astype(np.uint8)
        info["scaled_16bit"] = True
        return np.repeat(grey[:, :, None], 3, axis=2)
    if mode == "F":
        raise DecodeError(
            label, "32-bit float image: its value range is ambiguous, so gapviz does not guess it; save it as 8- or 16-bit"
        )
    if mode in ("LA", "La", "RGBA", "RGBa", "PA") or (mode == "P" and "transparency" in im.info):
        alpha = (
            np.asarray(im.convert("RGBA"))[:, :, 3] if mode in ("P", "PA") else np.asarray(im.getchannel("A"))
        )
        info["alpha_dropped"] = bool(alpha.min() < 255)
    try:
        rgb = im.convert("RGB")
    except (ValueError, OSError) as exc:
        raise DecodeError(label, f"cannot convert mode {mode!r} to RGB ({exc})") from None
    return np.asarray(rgb, dtype=np.uint8)


def decode_image_info(
    src: Any, *, name: str | None = None, need: tuple[int, int] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Decode an image to RGB uint8 and say what was done to it.

    Parameters
    ----------
    src : str, os.PathLike or bytes
        A file path or the encoded bytes (PNG, JPEG, TIFF, BMP, WebP, ...).
    name : str, optional
        The name used in error messages (default: the path, or ``"<bytes>"``).
    need : (H, W), optional
        The size the caller will crop and resize to. An image of more than ``REDUCE_ABOVE``
        pixels that still covers ``need`` at a fraction of its size is decoded at that reduced size
        (JPEG ``draft``; other formats ``reduce``), so memory stays bounded.

    Returns
    -------
    image : numpy.ndarray
        ``(H, W, 3)`` uint8, EXIF orientation applied.
    info : dict
        ``mode`` (the file's PIL mode), ``exif_rotated`` (bool), ``alpha_dropped`` (bool:
        a non-opaque alpha channel was discarded), ``scaled_16bit`` (bool), ``frames`` (int:
        only the first frame of a multi-frame file is used), ``native_size`` (``(H, W)`` of the
        file, oriented, before any reduction).

    Raises
    ------
    DecodeError
        Missing, corrupt, truncated or unsupported file; the message names the file.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("LA", (4, 2), (9, 0)).save(buf, "PNG")
    >>> img, info = decode_image_info(buf.getvalue())
    >>> img.shape, info["mode"], info["alpha_dropped"]
    ((2, 4, 3), 'LA', True)
    """
    label = _source_name(src, name)
    return _guarded(label, _decode_image_info, src, label, need)


def _guarded(label: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)``, with whatever a hostile file makes Pillow or numpy raise turned into a DecodeError."""
    try:
        return fn(*args)
    except GapvizError:
        raise
    except MemoryError:
        raise DecodeError(label, "too large to decode in the memory available") from None
    except Exception as exc:  # Pillow's plugins raise assorted errors (struct.error, IndexError, ...) on junk
        text = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
        raise DecodeError(label, f"corrupt or unsupported file ({type(exc).__name__}: {text})") from None


def _decode_image_info(src: Any, label: str, need: tuple[int, int] | None) -> tuple[np.ndarray, dict[str, Any]]:
    with _open(src, label, need) as im:
        info: dict[str, Any] = {
            "mode": im.mode,
            "exif_rotated": False,
            "alpha_dropped": False,
            "scaled_16bit": False,
            "frames": int(getattr(im, "n_frames", 1)),
            "native_size": im.info.get("gapviz_native_size"),
        }
        try:
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
            transposed = ImageOps.exif_transpose(im)
        except Exception as exc:  # malformed EXIF blocks raise assorted errors inside Pillow
            raise DecodeError(label, f"unreadable EXIF orientation ({exc})") from None
        info["exif_rotated"] = orientation not in (1, None)
        out = _to_uint8_rgb(transposed, label, info)
        if info["native_size"] is None:
            info["native_size"] = out.shape[:2]
        return out, info


def decode_image(src: Any, *, name: str | None = None) -> np.ndarray:
    """Decode an image file (or its bytes) to ``(H, W, 3)`` uint8 RGB.

    Grey, grey+alpha, RGBA (alpha dropped, as Keras does), palette, 16-bit (``round(v/257)``)
    and CMYK all become RGB; EXIF orientation is applied. See :func:`decode_image_info` for
    the record of what was done.

    Parameters
    ----------
    src : str, os.PathLike or bytes
        A file path or the encoded bytes.
    name : str, optional
        The name used in error messages.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8.

    Raises
    ------
    DecodeError
        Missing, corrupt, truncated or unsupported file.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("L", (3, 2), 200).save(buf, "PNG")
    >>> decode_image(buf.getvalue())[0, 0].tolist()
    [200, 200, 200]
    """
    return decode_image_info(src, name=name)[0]


def probe_size(src: Any, *, name: str | None = None) -> tuple[int, int]:
    """The ``(H, W)`` an image will have after :func:`decode_image`, reading only its header.

    EXIF orientations 5-8 swap height and width.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (6, 4)).save(buf, "PNG")
    >>> probe_size(buf.getvalue())
    (4, 6)
    """
    label = _source_name(src, name)
    fp: Any = io.BytesIO(bytes(src)) if isinstance(src, (bytes, bytearray, memoryview)) else os.fspath(src)
    try:
        with Image.open(fp) as im:
            w, h = im.size
            orientation = _orientation(im)
    except FileNotFoundError:
        raise DecodeError(label, "file not found") from None
    except Exception as exc:  # header parsing raises assorted errors for junk files
        raise DecodeError(label, f"unreadable image header ({exc})") from None
    return (w, h) if orientation in (5, 6, 7, 8) else (h, w)


def _check_size(size: Any, what: str = "size") -> tuple[int, int]:
    if is_int(size):  # one int is not a size here: (height, width) only
        raise argument_error(what, "a (height, width) pair of ints >= 1", size)
    return check_size(what, size, low=1)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an image to ``size = (H, W)`` with antialiasing.

    ``cv2.INTER_AREA`` when either axis shrinks (it averages, so no aliasing), ``cv2.INTER_CUBIC``
    when growing (uint8 results saturate, no ringing overflow). An image already at ``size``
    is returned as is (not copied).

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)``, uint8 or float32.
    size : tuple of int
        Target ``(height, width)``.

    Returns
    -------
    numpy.ndarray
        Same dtype and channels, shape ``size``.

    Examples
    --------
    >>> import numpy as np
    >>> resize_image(np.zeros((8, 6, 3), np.uint8), (4, 3)).shape
    (4, 3, 3)
    """
    h, w = _check_size(size)
    ih, iw = image.shape[:2]
    if (ih, iw) == (h, w):
        return image
    interp = cv2.INTER_AREA if (h < ih or w < iw) else cv2.INTER_CUBIC
    out = cv2.resize(image, (w, h), interpolation=interp)
    if image.ndim == 3 and out.ndim == 2:  # cv2 drops a trailing channel axis of length 1
        out = out[:, :, None]
    return out


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a boolean mask: area (or linear, when growing) interpolation, then threshold at 0.5.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((4, 4), bool); m[:2] = True
    >>> resize_mask(m, (2, 2)).tolist()
    [[True, True], [False, False]]
    """
    h, w = _check_size(size)
    if mask.shape[:2] == (h, w):
        return mask.astype(bool, copy=False)
    ih, iw = mask.shape[:2]
    interp = cv2.INTER_AREA if (h < ih or w < iw) else cv2.INTER_LINEAR
    return cv2.resize(mask.astype(np.float32), (w, h), interpolation=interp) >= 0.5


def mask_from_array(values: np.ndarray) -> np.ndarray:
    """Threshold a mask image of any dtype/channels: object where value > 0.5 of the image maximum.

    ``(H, W, C)`` masks use their maximum over channels. An all-zero mask is all background.

    Examples
    --------
    >>> import numpy as np
    >>> mask_from_array(np.array([[0, 1], [1, 0]], np.uint8)).tolist()
    [[False, True], [True, False]]
    """
    a = np.asarray(values)
    if a.ndim == 3:
        a = a.max(axis=2)
    if a.ndim != 2:
        raise GapvizError(f"a mask must be (H, W) or (H, W, C), got shape {np.shape(values)}")
    if a.dtype == bool:
        return a.copy()
    a = a.astype(np.float64)
    top = float(a.max()) if a.size else 0.0
    if top <= 0:
        return np.zeros(a.shape, bool)
    return a > 0.5 * top


def decode_mask(
    src: Any, size: tuple[int, int] | None = None, *, name: str | None = None,
    need: tuple[int, int] | None = None, image_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, str | None]:
    """Decode a mask file of any mode to a boolean ``(H, W)`` object mask.

    The object is where the value exceeds half the mask's maximum (so 0/1, 0/255 and 16-bit
    masks all work). A mask whose alpha channel is not fully opaque uses the alpha channel;
    otherwise the maximum over colour channels (palette masks via their grey value).

    Parameters
    ----------
    src : str, os.PathLike or bytes
        The mask file.
    size : tuple of int, optional
        The ``(H, W)`` of the image the mask belongs to. A mask of another size is resized
        (area interpolation + threshold at 0.5) and the returned note says so.
    name : str, optional
        The name used in error messages and in the note.
    need : (H, W), optional
        As in :func:`decode_image_info`: a large mask is decoded at reduced size.
    image_size : (H, W), optional
        The image's own size when ``size`` is a reduced one: the note compares the mask file
        with it (default: ``size``).

    Returns
    -------
    mask : numpy.ndarray
        ``(H, W)`` bool.
    note : str or None
        What was done beyond decoding (resizing, an empty mask), else None.

    Raises
    ------
    DecodeError
        Missing, corrupt or truncated file.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("L", (4, 4), 1).save(buf, "PNG")
    >>> m, note = decode_mask(buf.getvalue(), (8, 8))
    >>> m.shape, bool(m.all()), note
    ((8, 8), True, 'mask 4x4 resized to the image size 8x8')
    """
    label = _source_name(src, name)
    return _guarded(label, _decode_mask, src, size, label, need, image_size)


def _decode_mask(src: Any, size: Any, label: str, need: Any, image_size: Any) -> tuple[np.ndarray, str | None]:
    with _open(src, label, need) as im:
        native = im.info.get("gapviz_native_size")
        im = ImageOps.exif_transpose(im)
        if im.mode in ("LA", "La", "RGBA", "RGBa", "PA") and im.getchannel("A").getextrema()[0] < 255:
            values = np.asarray(im.getchannel("A"))
        elif im.mode == "P":
            values = np.asarray(im.convert("L"))
        elif im.mode in ("1", "L", "I", "F") or im.mode.startswith("I;16"):
            values = np.asarray(im)
        else:
            values = np.asarray(im.convert("RGB"))
    mask = mask_from_array(values)
    notes = []
    if size is not None:
        h, w = _check_size(size)
        mine = tuple(native) if native is not None else mask.shape  # the file's size, before any reduction
        ref = tuple(image_size) if image_size is not None else (h, w)
        if mine != ref:
            notes.append(f"mask {mine[0]}x{mine[1]} resized to the image size {ref[0]}x{ref[1]}")
        if mask.shape != (h, w):
            mask = resize_mask(mask, (h, w))
    if not mask.any():
        notes.append("mask is empty (no object pixels)")
    return mask, "; ".join(notes) or None


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True for a name ending in an image extension (case-insensitive): ``IMAGE_EXTENSIONS``.

    Examples
    --------
    >>> is_image_path("a/B.JPG"), is_image_path("notes.txt")
    (True, False)
    """
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS
