"""Plain f32 matmul kernels (shaders/matmul.wgsl): out[M, N] = a[M, K] @ b[K, N], row-major.

`matmul_tiled` (16x16 shared-memory tiles) backs the page's self-test; `matmul_naive` (one thread
per output, no tiling) is the baseline the benchmark compares the register-tiled `linear` kernel
with. Models use `linear` (and the batched `matmul` op, which runs on the linear kernel too).
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .uniforms import Uniforms

TILE = 16


@dataclass(frozen=True)
class MatmulUniforms(Uniforms):
    M: "u32"
    K: "u32"
    N: "u32"


def kernel_key(variant: str = "tiled") -> str:
    return f"matmul_f32_tile{TILE}x{TILE}" if variant == "tiled" else "matmul_f32_naive"


def source() -> str:
    return MatmulUniforms.wgsl_struct() + load_wgsl("matmul")


def workgroups(M: int, N: int) -> tuple[int, int, int]:
    return -(-N // TILE), -(-M // TILE), 1


def reference(a, b):
    import numpy as np

    # float64 accumulation, rounded once: the definition the GPU's f32 sum is measured against
    return (np.asarray(a, np.float64) @ np.asarray(b, np.float64)).astype(np.float32)


def batched_reference(a, b, transpose_b: bool = False):
    """a [B, M, K] (or [M, K]) @ b [B, K, N] (or b^T of [B, N, K]) in float64, rounded to f32."""
    import numpy as np

    b = np.asarray(b, np.float64)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    return (np.asarray(a, np.float64) @ b).astype(np.float32)
