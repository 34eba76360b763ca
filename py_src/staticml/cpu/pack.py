"""Pack numpy weights into the CPU kernels' layouts (see layout.py). Native only: the converter
(model_cache/) calls these; the browser never imports this module."""
import numpy as np

from .layout import PANEL, scale_count, weight_nbytes


def _w(w) -> np.ndarray:
    w = np.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"a Linear weight must be 2-D [N_out, K_in], got shape {w.shape}")
    return w


def pack_f32(w) -> bytes:
    """W [N, K] -> panels [ceil(N/8), K, 8] f32 (zero-padded columns)."""
    w = _w(w).astype(np.float32)
    N, K = w.shape
    padded = np.zeros((-(-N // PANEL) * PANEL, K), np.float32)
    padded[:N] = w
    out = np.ascontiguousarray(padded.reshape(-1, PANEL, K).transpose(0, 2, 1)).tobytes()
    assert len(out) == weight_nbytes("f32", N, K)
    return out


def pack_f16(w) -> bytes:
    """W [N, K] -> f16 bits row-major, rows padded to an even length."""
    w = _w(w)
    N, K = w.shape
    out = np.zeros((N, K + (K & 1)), np.float16)
    out[:, :K] = w
    return out.tobytes()


def quantize_q8(w) -> tuple[bytes, bytes]:
    """Symmetric per-output-row int8: q = round(w / s), s = max|w[n]| / 127. Returns (weights, scales)."""
    w = _w(w).astype(np.float32)
    N, K = w.shape
    amax = np.abs(w).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8)
    out = np.zeros((N, -(-K // 4) * 4), np.int8)
    out[:, :K] = q
    return out.tobytes(), scale.tobytes()


def quantize_q4(w) -> tuple[bytes, bytes]:
    """Symmetric int4 per group of 32 along K: nibble = round(w / s) + 8 in 0..15, s = max|w[group]| / 7.
    Returns (weights [N, ceil(K/8)] u32 as bytes, scales [N, ceil(K/32)] f32 as bytes)."""
    w = _w(w).astype(np.float32)
    N, K = w.shape
    groups = -(-K // 32)
    padded = np.zeros((N, groups * 32), np.float32)
    padded[:, :K] = w
    amax = np.abs(padded.reshape(N, groups, 32)).max(axis=2)
    scale = np.where(amax > 0, amax / 7.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(padded.reshape(N, groups, 32) / scale[:, :, None]), -8, 7).astype(np.int32) + 8
    nib = q.reshape(N, groups * 32)[:, : -(-K // 8) * 8].reshape(N, -1, 8).astype(np.uint32)
    words = np.zeros(nib.shape[:2], np.uint32)
    for j in range(8):
        words |= nib[:, :, j] << np.uint32(4 * j)
    assert words.nbytes == weight_nbytes("q4", N, K) and scale.size == scale_count("q4", N, K)
    return words.tobytes(), scale.tobytes()


def dequantize_q8(wq: bytes, scales: bytes, N: int, K: int) -> np.ndarray:
    q = np.frombuffer(wq, np.int8).reshape(N, -1)[:, :K].astype(np.float32)
    return q * np.frombuffer(scales, np.float32)[:, None]


def dequantize_q4(wq: bytes, scales: bytes, N: int, K: int) -> np.ndarray:
    words = np.frombuffer(wq, np.uint32).reshape(N, -1)
    nib = np.stack([(words >> np.uint32(4 * j)) & np.uint32(15) for j in range(8)], axis=2).reshape(N, -1)[:, :K]
    s = np.frombuffer(scales, np.float32).reshape(N, -1)
    return (nib.astype(np.float32) - 8.0) * np.repeat(s, 32, axis=1)[:, :K]
