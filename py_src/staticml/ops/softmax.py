"""Softmax over the last dimension with a scale and an optional additive mask (shaders/softmax.wgsl).

softmax(x * scale + mask[r // rows_per_mask]) per row; one 256-thread workgroup per row,
max-subtracted so large logits do not overflow.
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import DUMMY, Dispatch, grid
from .uniforms import Uniforms


@dataclass(frozen=True)
class SoftmaxUniforms(Uniforms):
    rows: "u32"
    C: "u32"
    rows_per_mask: "u32"  # 0 = no mask
    scale: "f32"


def kernel_key() -> str:
    return "softmax_f32"


def source() -> str:
    return SoftmaxUniforms.wgsl_struct() + load_wgsl("softmax")


def encode(node, features=()) -> list:
    x, mask = node.inputs["x"], node.inputs["mask"]
    C = x.shape[-1]
    rows = x.numel // C if C else 0
    rpm = rows // mask.shape[0] if mask is not None else 0
    u = SoftmaxUniforms(rows=rows, C=C, rows_per_mask=rpm, scale=node.params["scale"])
    return [Dispatch(kernel_key(), source(), "main", u.pack(), [x, DUMMY if mask is None else mask, node.out],
                     grid(rows))]


def reference(x, mask=None, scale: float = 1.0):
    """x [..., C]; mask [Bm, C] additive, row r of x (flattened) uses mask[r // (rows / Bm)]."""
    import numpy as np

    x = np.asarray(x, np.float64)
    C = x.shape[-1]
    v = x.reshape(-1, C) * scale
    if mask is not None:
        mask = np.asarray(mask, np.float64).reshape(-1, C)
        v = v + np.repeat(mask, v.shape[0] // mask.shape[0], axis=0)
    v = v - v.max(-1, keepdims=True)
    e = np.exp(v)
    return (e / e.sum(-1, keepdims=True)).reshape(x.shape).astype(np.float32)
