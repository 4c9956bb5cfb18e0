"""Decoding a large PNG at reduced size in strips, so the full-size image never exists in memory.

Pillow decodes a PNG whole. Here the IDAT stream is inflated incrementally; each strip of rows is
handed to Pillow as a small PNG of its own, whose first row is the previous strip's last row,
already unfiltered and stored with filter type 0, so the PNG row filters (Up, Average, Paeth) that
refer to the row above decode exactly. Each strip is shrunk with ``Image.reduce`` right away; strips
are a multiple of the factor tall, so the result equals ``reduce`` of the whole image.

Only non-interlaced 8-bit PNGs (grey, RGB, palette, grey+alpha, RGBA) take this path; anything else
returns None and is decoded whole by the caller.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import IO

from PIL import Image

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_STRIP_BYTES = 4 << 20  # about 4 MB of filtered rows per strip


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _chunks(fh: IO[bytes]):
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return
        length, kind = struct.unpack(">I4s", head)
        data = fh.read(length)
        fh.read(4)  # CRC: Pillow checks the strips' own
        if len(data) < length:
            return
        yield kind, data
        if kind == b"IEND":
            return


def png_reduced(fh: IO[bytes], factor: int) -> Image.Image | None:
    """The PNG in ``fh`` reduced by ``factor`` (box average), decoded strip by strip; None if not supported."""
    fh.seek(0)
    if fh.read(8) != _SIGNATURE:
        return None
    chunks = _chunks(fh)
    kind, ihdr = next(chunks, (b"", b""))
    if kind != b"IHDR" or len(ihdr) != 13:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    if depth != 8 or interlace or colour not in _CHANNELS or factor < 2:
        return None
    row = width * _CHANNELS[colour] + 1
    per_strip = max(factor, (_STRIP_BYTES // row) // factor * factor)
    extra = b""  # PLTE, tRNS: copied into every strip
    exif = None
    inflate = zlib.decompressobj()
    pending = bytearray()
    state = {"prev": None, "y": 0, "parts": []}

    def emit(rows: bytes, n: int) -> None:
        prev = state["prev"]
        data = (b"\x00" + prev + rows) if prev is not None else rows
        h = n + (prev is not None)
        mini = (_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, h, 8, colour, 0, 0, 0)) + extra
                + _chunk(b"IDAT", zlib.compress(data, 0)) + _chunk(b"IEND", b""))  # fmt: skip
        with Image.open(io.BytesIO(mini)) as strip:
            strip.load()
            if prev is not None:
                strip = strip.crop((0, 1, width, h))
            state["prev"] = strip.crop((0, n - 1, width, n)).tobytes()
            if strip.mode == "P":
                strip = strip.convert("RGBA" if "transparency" in strip.info else "RGB")
            state["parts"].append(strip.reduce(factor))
        state["y"] += n

    for kind, data in chunks:
        if kind in (b"PLTE", b"tRNS"):
            extra += _chunk(kind, data)
        elif kind == b"eXIf":
            exif = b"Exif\x00\x00" + data
        elif kind == b"IDAT":
            while data:  # bounded inflation: a chunk of zeros may expand a thousandfold
                pending += inflate.decompress(data, per_strip * row)
                data = inflate.unconsumed_tail
                while len(pending) >= per_strip * row:
                    emit(bytes(pending[: per_strip * row]), per_strip)
                    del pending[: per_strip * row]
    pending += inflate.flush()
    left = min(len(pending) // row, height - state["y"])
    if left > 0:
        emit(bytes(pending[: left * row]), left)
    if state["y"] != height or not state["parts"]:
        raise OSError(f"truncated PNG: {state['y']} of {height} rows")
    parts = state["parts"]
    out = Image.new(parts[0].mode, (parts[0].width, sum(p.height for p in parts)))
    y = 0
    for part in parts:
        out.paste(part, (0, y))
        y += part.height
    if exif is not None:
        out.info["exif"] = exif
    return out
