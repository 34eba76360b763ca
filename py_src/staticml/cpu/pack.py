"""Pack numpy weights for the CPU kernels (see layout.py). Native only: the converter (model_cache/)
calls these; the browser never imports this module.

f16, q8 and q4 are exactly `staticml.quant`'s packing (the GPU's), so one shipped file serves both
backends; f32 and q8p are CPU layouts of their own (panels), made here or at load by the kernels
`pack_f32` / `pack_q8` from the shipped bytes.
"""
import numpy as np

from .. import quant
from .layout import PANEL, q8p_k, weight_nbytes


def pack_f32(w) -> bytes:
    """W [N, K] -> panels [ceil(N/8), K, 8] f32 (zero-padded columns)."""
    w = np.asarray(w, np.float32)
    if w.ndim != 2:
        raise ValueError(f"a Linear weight must be 2-D [N_out, K_in], got shape {w.shape}")
    N, K = w.shape
    padded = np.zeros((-(-N // PANEL) * PANEL, K), np.float32)
    padded[:N] = w
    out = np.ascontiguousarray(padded.reshape(-1, PANEL, K).transpose(0, 2, 1)).tobytes()
    assert len(out) == weight_nbytes("f32", N, K)
    return out


def pack_f16(w) -> bytes:
    return quant.pack(w, "f16")[0].tobytes()


def quantize_q8(w) -> tuple[bytes, bytes]:
    """(int8 rows padded to 4 bytes, f32 scale per row): staticml.quant's q8."""
    words, scales = quant.pack(w, "q8")
    return words.tobytes(), scales.tobytes()


def quantize_q4(w) -> tuple[bytes, bytes]:
    """(nibbles, f32 scales [N, ceil(K/32)]): staticml.quant's q4."""
    words, scales = quant.pack(w, "q4")
    return words.tobytes(), scales.tobytes()


def _padded_q8(wq: bytes, N: int, K: int) -> np.ndarray:
    """q8 rows (quantize_q8's bytes: int8, rows padded to 4) as int8 [N rounded up to 8, K rounded up to 8], zeros
    past N and K: what the q8p and q8x7 panels are cut from."""
    padded = np.zeros((-(-N // PANEL) * PANEL, q8p_k(K)), np.int8)
    padded[:N, :K] = np.frombuffer(wq, np.int8).reshape(N, -1)[:, :K]
    return padded


def pack_q8p(wq: bytes, N: int, K: int) -> bytes:
    """q8 rows (quantize_q8's bytes: int8, rows padded to 4) -> q8p panels [ceil(N/8), Kp/2, 8, 2] int8."""
    padded = _padded_q8(wq, N, K)
    n8, kp = padded.shape
    # [panel, column, pair, 2] -> [panel, pair, column, 2]
    out = np.ascontiguousarray(padded.reshape(n8 // PANEL, PANEL, kp // 2, 2).transpose(0, 2, 1, 3)).tobytes()
    assert len(out) == weight_nbytes("q8p", N, K)
    return out


def pack_q8x7(wq: bytes, N: int, K: int) -> bytes:
    """q8 rows (quantize_q8's bytes) -> q8x7 panels [ceil(N/8), Kp/4, 8, 4] int8, then the int32 sum of each
    (padded) column: what the kernel `pack_q8x7` makes."""
    padded = _padded_q8(wq, N, K)
    n8, kp = padded.shape
    # [panel, column, quad, 4] -> [panel, quad, column, 4]
    panels = padded.reshape(n8 // PANEL, PANEL, kp // 4, 4).transpose(0, 2, 1, 3)
    out = np.ascontiguousarray(panels).tobytes() + padded.astype(np.int32).sum(axis=1).astype("<i4").tobytes()
    assert len(out) == weight_nbytes("q8x7", N, K)
    return out


def quantize_q8p(w) -> tuple[bytes, bytes]:
    """(q8p panels, f32 scale per row): staticml.quant's q8 values in the CPU's panel layout."""
    w = np.asarray(w, np.float32)
    wq, scales = quantize_q8(w)
    return pack_q8p(wq, *w.shape), scales


def dequantize_q8(wq: bytes, scales: bytes, N: int, K: int) -> np.ndarray:
    return quant.unpack(np.frombuffer(wq, np.uint32), np.frombuffer(scales, np.float32), "q8", N, K)


def dequantize_q4(wq: bytes, scales: bytes, N: int, K: int) -> np.ndarray:
    return quant.unpack(np.frombuffer(wq, np.uint32), np.frombuffer(scales, np.float32), "q4", N, K)
