"""Strided copies (shaders/copy.wgsl): the data movement behind `contiguous` (after transpose/slice
views) and `concat`. Up to 4 dimensions; element offsets and strides travel in the uniforms, so
views never need an aligned buffer offset.
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import Dispatch, grid
from .uniforms import Uniforms

WORKGROUP = 256


@dataclass(frozen=True)
class CopyUniforms(Uniforms):
    n: "u32"
    d1: "u32"   # shape, padded on the left to 4 dims: [d0, d1, d2, d3]; d0 is implied by n
    d2: "u32"
    d3: "u32"
    in_off: "u32"
    in_s0: "u32"
    in_s1: "u32"
    in_s2: "u32"
    in_s3: "u32"
    out_off: "u32"
    out_s0: "u32"
    out_s1: "u32"
    out_s2: "u32"
    out_s3: "u32"


def kernel_key() -> str:
    return "copy_strided_4d"


def source() -> str:
    return CopyUniforms.wgsl_struct() + load_wgsl("copy")


def _pad4(values, fill):
    values = tuple(values)
    return (fill,) * (4 - len(values)) + values


def strided_copy(x, out_strides, out_offset: int, out) -> Dispatch:
    """Copy view x into `out`'s storage at out_offset with out_strides (all in elements)."""
    shape = _pad4(x.shape, 1)
    s_in = _pad4(x.strides, 0)
    s_out = _pad4(out_strides, 0)
    u = CopyUniforms(n=x.numel, d1=shape[1], d2=shape[2], d3=shape[3], in_off=x.offset,
                     in_s0=s_in[0], in_s1=s_in[1], in_s2=s_in[2], in_s3=s_in[3], out_off=out_offset,
                     out_s0=s_out[0], out_s1=s_out[1], out_s2=s_out[2], out_s3=s_out[3])
    return Dispatch(kernel_key(), source(), "main", u.pack(), [x, out], grid(-(-x.numel // WORKGROUP)))


def encode(node, features=()) -> list:
    out = node.out
    if node.op == "copy":
        return [strided_copy(node.inputs["x"], out.strides, 0, out)]
    axis, start, dispatches = node.params["axis"], 0, []
    for x in node.inputs["xs"]:  # concat: each part lands at its offset along `axis`
        dispatches.append(strided_copy(x, out.strides, start * out.strides[axis], out))
        start += x.shape[axis]
    return dispatches


def reference(x):
    """A dense copy of a (possibly strided) array."""
    import numpy as np

    return np.ascontiguousarray(x)


def concat_reference(xs, axis: int):
    import numpy as np

    return np.concatenate([np.asarray(x) for x in xs], axis=axis)
