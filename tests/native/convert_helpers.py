"""Shared by the converter tests: import the top-level model_cache package and decode packed weights
independently of model_cache.quantize (bit by bit with Python ints), so a layout bug cannot hide."""
import struct
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import model_cache  # noqa: E402,F401


def decode_q8(packed: bytes, scales: bytes, n: int, k: int) -> np.ndarray:
    """Rows of ceil(k/4) words; byte j of word w is the int8 code of column 4w + j (padding past k)."""
    row = -(-k // 4)
    words = struct.unpack(f"<{n * row}I", packed[: 4 * n * row])
    s = struct.unpack(f"<{n}f", scales[: 4 * n])
    out = np.empty((n, k), np.float32)
    for idx, w in enumerate(words):
        r, wi = divmod(idx, row)
        for j in range(4):
            col = 4 * wi + j
            if col < k:
                byte = (w >> (8 * j)) & 0xFF
                out[r, col] = (byte - 256 if byte >= 128 else byte) * s[r]
    return out


def decode_q4(packed: bytes, scales: bytes, n: int, k: int) -> np.ndarray:
    """Rows of 4 * ceil(k/32) words; nibble j of word w is q + 8 for column 8w + j; scales [n, ceil(k/32)]."""
    groups = -(-k // 32)
    row = 4 * groups
    words = struct.unpack(f"<{n * row}I", packed[: 4 * n * row])
    s = struct.unpack(f"<{n * groups}f", scales[: 4 * n * groups])
    out = np.empty((n, k), np.float32)
    for idx, w in enumerate(words):
        r, wi = divmod(idx, row)
        for j in range(8):
            col = 8 * wi + j
            if col < k:
                out[r, col] = (((w >> (4 * j)) & 0xF) - 8) * s[r * groups + col // 32]
    return out
