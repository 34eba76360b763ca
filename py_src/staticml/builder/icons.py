"""Square PNG app icons for manifest.webmanifest, drawn in code (no image library needed)."""
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def icon_png(size: int) -> bytes:
    """A dark tile with a light square 'chip' in the middle: recognisable, deterministic bytes."""
    bg, fg = (24, 28, 48), (120, 200, 255)
    lo, hi = size // 4, size - size // 4
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type 0
        for x in range(size):
            inside = lo <= x < hi and lo <= y < hi and not (size // 3 <= x < size - size // 3 and size // 3 <= y < size - size // 3)
            row += bytes(fg if inside else bg)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _chunk(b"IEND", b"")
