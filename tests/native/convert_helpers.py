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
    words = struct.unpack(f"<{n * k // 4}I", packed[: n * k])
    s = struct.unpack(f"<{n}f", scales[: 4 * n])
    out = np.empty((n, k), np.float32)
    for idx, w in enumerate(words):
        row, col = divmod(idx * 4, k)
        for j in range(4):
            byte = (w >> (8 * j)) & 0xFF
            out[row, col + j] = (byte - 256 if byte >= 128 else byte) * s[row]
    return out


def decode_q4(packed: bytes, scales: bytes, n: int, k: int) -> np.ndarray:
    words = struct.unpack(f"<{n * k // 8}I", packed[: n * k // 2])
    groups = k // 32
    s = struct.unpack(f"<{n * groups}f", scales[: 4 * n * groups])
    out = np.empty((n, k), np.float32)
    for idx, w in enumerate(words):
        row, col = divmod(idx * 8, k)
        for j in range(8):
            q = ((w >> (4 * j)) & 0xF) - 8
            out[row, col + j] = q * s[row * groups + (col + j) // 32]
    return out
