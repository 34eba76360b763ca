"""Elementwise kernels (shaders/elementwise.wgsl): out[i] = a[i] + b[i] over n f32 values."""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .uniforms import Uniforms

WORKGROUP = 256
MAX_GROUPS_X = 65535  # WebGPU's default maxComputeWorkgroupsPerDimension


@dataclass(frozen=True)
class ElementwiseUniforms(Uniforms):
    n: "u32"


def kernel_key(op: str = "add") -> str:
    return f"elementwise_{op}_f32"


def source() -> str:
    return ElementwiseUniforms.wgsl_struct() + load_wgsl("elementwise")


def workgroups(n: int) -> tuple[int, int, int]:
    """A 2-D grid of 256-wide groups covering n (the shader flattens it back)."""
    groups = max(1, -(-n // WORKGROUP))
    x = min(groups, MAX_GROUPS_X)
    return x, -(-groups // x), 1


def reference(a, b):
    import numpy as np

    return np.asarray(a, dtype=np.float32) + np.asarray(b, dtype=np.float32)
