"""Masked mean pooling over tokens (shaders/pooling.wgsl), as sentence-transformers' Pooling(mean).

out[b, c] = sum_t x[b, t, c] * mask[b, t] / max(sum_t mask[b, t], 1e-9).
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import Dispatch, grid
from .uniforms import Uniforms

WORKGROUP = 256
MIN_COUNT = 1e-9  # sentence-transformers clamps the token count with this


@dataclass(frozen=True)
class PoolingUniforms(Uniforms):
    B: "u32"
    T: "u32"
    C: "u32"


def kernel_key() -> str:
    return "mean_pool_f32"


def source() -> str:
    return PoolingUniforms.wgsl_struct() + load_wgsl("pooling")


def encode(node, features=()) -> list:
    x = node.inputs["x"]
    B, T, C = x.shape
    return [Dispatch(kernel_key(), source(), "mean_pool", PoolingUniforms(B=B, T=T, C=C).pack(),
                     [x, node.inputs["mask"], node.out], grid(-(-(B * C) // WORKGROUP)))]


def reference(x, mask):
    """x [B, T, C], mask [B, T] -> [B, C]."""
    import numpy as np

    x, m = np.asarray(x, np.float64), np.asarray(mask, np.float64)
    return ((x * m[..., None]).sum(1) / np.maximum(m.sum(1), MIN_COUNT)[:, None]).astype(np.float32)
