"""Matmul kernels (shaders/matmul.wgsl): out[M, N] = a[M, K] @ b[K, N], f32, row-major."""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .uniforms import Uniforms

TILE = 16


@dataclass(frozen=True)
class MatmulUniforms(Uniforms):
    M: "u32"
    K: "u32"
    N: "u32"


def kernel_key() -> str:
    return f"matmul_f32_tile{TILE}x{TILE}"


def source() -> str:
    return MatmulUniforms.wgsl_struct() + load_wgsl("matmul")


def workgroups(M: int, N: int) -> tuple[int, int, int]:
    return -(-N // TILE), -(-M // TILE), 1


def reference(a, b):
    import numpy as np

    # float64 accumulation, rounded once: the definition the GPU's f32 sum is measured against
    return (np.asarray(a, np.float64) @ np.asarray(b, np.float64)).astype(np.float32)
