"""Weight quantization in numpy, with the exact byte layout the WGSL kernels unpack.

A Linear weight W is stored by PyTorch as [N_out, K_in] (y = x @ W.T); we quantize along K, one
output row at a time, symmetrically (zero maps to zero, no offsets):

q8  (int8, per output channel):
    scale[n] = max_k |W[n, k]| / 127            f32 [N]
    q[n, k]  = round_half_even(W[n, k] / scale[n]) in [-127, 127]
    packing:  4 consecutive k of one row per u32, little-endian: bits 8j..8j+7 hold q[n, 4w + j] as
              two's-complement int8 (i.e. exactly the int8 row-major bytes [N, K], viewed as u32 [N, K/4]).
    bound:    |W - q * scale| <= scale / 2 = max|row| / 254 per element.

q4  (int4, groups of 32 along K):
    scale[n, g] = max_{k in group g} |W[n, k]| / 7        f32 [N, K/32], row-major
    q[n, k]     = round_half_even(W[n, k] / scale[n, g]) in [-7, 7]
    packing:  8 consecutive k of one row per u32; element j sits in bits 4j..4j+3 (low nibble first)
              as the unsigned nibble q + 8 (1..15); u32 [N, K/8].
    bound:    |W - q * scale| <= scale / 2 = max|group| / 14 per element.

An all-zero row/group gets scale 0 and dequantizes to exactly 0. Rows whose K is not a multiple of
4 (q8) or 32 (q4) are not quantized; the converter keeps them in f32 and says so.
This mirrors py_src/staticml/quant.py (written in parallel); the tests pin the layout.
"""
from dataclasses import dataclass

import numpy as np

Q4_GROUP = 32
PACKING = {"q8": "u32 holds 4 int8 of one row, k ascending, little-endian",
           "q4": "u32 holds 8 nibbles (q + 8) of one row, k ascending, low nibble first"}
SCHEMES = {"q8": {"group": None, "multiple": 4, "qmax": 127}, "q4": {"group": Q4_GROUP, "multiple": Q4_GROUP, "qmax": 7}}


@dataclass
class Quantized:
    scheme: str            # "q8" or "q4"
    shape: tuple           # logical [N, K]
    packed: np.ndarray     # uint32 [N, K/4] (q8) or [N, K/8] (q4)
    scales: np.ndarray     # float32 [N] (q8) or [N, K/32] (q4)
    group_size: int        # K (q8: the whole row) or 32 (q4)


def can_quantize(scheme: str, shape: tuple) -> bool:
    return len(shape) == 2 and shape[1] % SCHEMES[scheme]["multiple"] == 0 and shape[0] > 0


def _scales(w: np.ndarray, group: int, qmax: int) -> np.ndarray:
    n, k = w.shape
    amax = np.abs(w.reshape(n, k // group, group)).max(axis=2)       # [N, K/group]
    return (amax / np.float32(qmax)).astype(np.float32)


def _codes(w: np.ndarray, scales: np.ndarray, group: int, qmax: int) -> np.ndarray:
    n, k = w.shape
    s = np.repeat(scales, group, axis=1)                             # [N, K]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(s > 0, np.rint(w / np.where(s > 0, s, 1)), 0)
    return np.clip(q, -qmax, qmax).astype(np.int8)                   # [N, K]


def quantize(scheme: str, w: np.ndarray) -> Quantized:
    w = np.ascontiguousarray(w, dtype=np.float32)
    if scheme not in SCHEMES or not can_quantize(scheme, w.shape):
        raise ValueError(f"cannot {scheme}-quantize a tensor of shape {list(w.shape)}")
    n, k = w.shape
    spec = SCHEMES[scheme]
    group = spec["group"] or k
    scales = _scales(w, group, spec["qmax"])                         # [N, K/group]
    q = _codes(w, scales, group, spec["qmax"])                       # [N, K] int8
    if scheme == "q8":
        packed = q.view(np.uint8).reshape(n, k // 4, 4).copy().view("<u4").reshape(n, k // 4)
        return Quantized(scheme, (n, k), packed, scales.reshape(n), k)
    nibbles = (q.astype(np.int16) + 8).astype(np.uint32).reshape(n, k // 8, 8)   # [N, K/8, 8] in 1..15
    packed = np.zeros((n, k // 8), dtype=np.uint32)
    for j in range(8):
        packed |= nibbles[:, :, j] << np.uint32(4 * j)
    return Quantized(scheme, (n, k), packed.astype("<u4"), scales, Q4_GROUP)


def dequantize(qt: Quantized) -> np.ndarray:
    """The f32 weights a kernel reconstructs from the packed bytes: the living definition of the layout."""
    n, k = qt.shape
    if qt.scheme == "q8":
        q = qt.packed.astype("<u4").view(np.int8).reshape(n, k).astype(np.float32)
        return q * qt.scales.reshape(n, 1)
    words = qt.packed.astype(np.uint32).reshape(n, k // 8, 1)
    nibbles = (words >> (np.arange(8, dtype=np.uint32) * 4)) & np.uint32(0xF)   # [N, K/8, 8]
    q = nibbles.reshape(n, k).astype(np.float32) - 8
    return q * np.repeat(qt.scales, Q4_GROUP, axis=1)


def error_bound(qt: Quantized) -> np.ndarray:
    """Per-element bound on |W - dequantize(W)|: half a quantization step (plus f32 rounding)."""
    n, k = qt.shape
    s = qt.scales.reshape(n, 1) if qt.scheme == "q8" else np.repeat(qt.scales, Q4_GROUP, axis=1)
    return s / 2 * (1 + 1e-6) + np.float32(1e-30)


def error_report(w: np.ndarray, approx: np.ndarray) -> dict:
    """What the converter prints and records for each tensor stored inexactly (q8, q4, f16)."""
    w = w.astype(np.float32)
    d = approx.astype(np.float32) - w
    norm = float(np.sqrt(np.mean(w.astype(np.float64) ** 2)))
    rms = float(np.sqrt(np.mean(d.astype(np.float64) ** 2)))
    return {"max_abs_err": float(np.abs(d).max()), "rms_err": rms, "rel_rms_err": rms / norm if norm else 0.0}
