"""Argmax over the last dimension (shaders/argmax.wgsl): i32 index of the largest value, first on ties.

One 256-thread workgroup per row. Rows holding NaN are not defined (numpy and the GPU may differ).
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import Dispatch, grid
from .uniforms import Uniforms


@dataclass(frozen=True)
class ArgmaxUniforms(Uniforms):
    rows: "u32"
    C: "u32"


def kernel_key() -> str:
    return "argmax_f32"


def source() -> str:
    return ArgmaxUniforms.wgsl_struct() + load_wgsl("argmax")


def encode(node, features=()) -> list:
    x = node.inputs["x"]
    C = x.shape[-1]
    rows = x.numel // C
    return [Dispatch(kernel_key(), source(), "main", ArgmaxUniforms(rows=rows, C=C).pack(), [x, node.out], grid(rows))]


def reference(x):
    """x [..., C] -> int32 [...]."""
    import numpy as np

    return np.argmax(np.asarray(x, np.float32), axis=-1).astype(np.int32)
