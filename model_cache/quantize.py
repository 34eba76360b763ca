"""Which tensors the converter stores in --dtype, and their error report. The packed layout itself
(f16 / q8 / q4 words and scales) is defined once, in py_src/staticml/quant.py, which the runtime's
kernels and numpy backend read too; see that module's doc and model_cache/README.md.

Rule: --dtype applies to Linear weights, i.e. 2-D tensors that are not embedding tables (the model
code gathers embedding rows in f32: staticml.models.weights.ModelWeights.table). Everything else
(embedding tables, biases, LayerNorm) stays f32.
"""
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    from staticml import quant
except ImportError:  # model_cache used from a checkout where staticml is not installed: take py_src's
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py_src"))
    from staticml import quant

Q4_GROUP = quant.Q4_GROUP
PACKING = {"f16": "u32 holds 2 f16 of one row, low half first; odd K pads the row with 0",
           "q8": "u32 holds 4 int8 of one row, k ascending, little-endian; rows padded to 4 with 0",
           "q4": "u32 holds 8 nibbles (q + 8) of one row, k ascending, low nibble first; rows padded to 32 with q = 0"}


@dataclass
class Packed:
    dtype: str             # "f16", "q8" or "q4"
    shape: tuple           # logical [N, K]
    words: np.ndarray      # uint32 [N, quant.row_words(dtype, K)]
    scales: np.ndarray | None   # float32 [N] (q8), [N, ceil(K/32)] (q4), None (f16)


def is_linear_weight(name: str, shape: tuple) -> bool:
    return len(shape) == 2 and "embeddings." not in name and shape[0] > 0 and shape[1] > 0


def pack(dtype: str, w: np.ndarray) -> Packed:
    words, scales = quant.pack(w, dtype)
    return Packed(dtype, tuple(w.shape), np.ascontiguousarray(words, dtype="<u4"),
                  None if scales is None else np.ascontiguousarray(scales, dtype="<f4"))


def unpack(p: Packed) -> np.ndarray:
    """The f32 [N, K] matrix the kernels multiply by."""
    return quant.unpack(p.words, p.scales, p.dtype, *p.shape)


def quant_entry(p: Packed, scales_name: str | None) -> dict:
    """What the manifest records about the layout (readers take it from here, never from constants)."""
    n, k = p.shape
    entry = {"scheme": p.dtype, "axis": 1, "row_words": quant.row_words(p.dtype, k), "packing": PACKING[p.dtype]}
    if p.dtype != "f16":
        entry.update(group_size=k if p.dtype == "q8" else Q4_GROUP, scales=scales_name)
    return entry


def error_report(w: np.ndarray, approx: np.ndarray) -> dict:
    """What the converter prints and records for each tensor stored inexactly (q8, q4, f16)."""
    w = w.astype(np.float32)
    d = approx.astype(np.float32) - w
    norm = float(np.sqrt(np.mean(w.astype(np.float64) ** 2)))
    rms = float(np.sqrt(np.mean(d.astype(np.float64) ** 2)))
    return {"max_abs_err": float(np.abs(d).max()), "rms_err": rms, "rel_rms_err": rms / norm if norm else 0.0}
