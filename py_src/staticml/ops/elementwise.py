"""Elementwise kernels (shaders/elementwise.wgsl): out[i] = a[i] (+ or *) b[i mod nb] over n f32 values.

b either matches a (nb = 0 or n) or repeats over a's leading dimensions (nb = b's size): that covers
bias adds, position adds and per-channel scales without a broadcast copy.
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import MAX_GROUPS, Dispatch
from .uniforms import Uniforms

WORKGROUP = 256
MAX_GROUPS_X = MAX_GROUPS
OPS = ("add", "mul")


@dataclass(frozen=True)
class ElementwiseUniforms(Uniforms):
    n: "u32"
    nb: "u32" = 0  # size of b when it repeats; 0 means b has n values


def kernel_key(op: str = "add") -> str:
    return f"elementwise_{op}_f32"


def source() -> str:
    return ElementwiseUniforms.wgsl_struct() + load_wgsl("elementwise")


def workgroups(n: int) -> tuple[int, int, int]:
    """A 2-D grid of 256-wide groups covering n (the shader flattens it back)."""
    groups = max(1, -(-n // WORKGROUP))
    x = min(groups, MAX_GROUPS_X)
    return x, -(-groups // x), 1


def encode(node, features=()) -> list:
    a, b = node.inputs["a"], node.inputs["b"]
    u = ElementwiseUniforms(n=a.numel, nb=b.numel)
    return [Dispatch(kernel_key(node.op), source(), node.op, u.pack(), [a, b, node.out], workgroups(a.numel))]


def reference(a, b, op: str = "add"):
    """a (op) b with numpy broadcasting of b over a's leading dimensions."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    raise ValueError(f"unknown elementwise op {op!r}; expected one of {OPS}")
