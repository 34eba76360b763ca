"""Rotary position embedding, "rotate half" form (shaders/rotary.wgsl), as in Llama and GPT-NeoX.

For channel i < R/2 at position p: f = theta^(-2i/R), (a, b) = (x_i, x_{i+R/2}) becomes
(a cos pf - b sin pf, b cos pf + a sin pf); channels >= R (partial rotary) pass through.
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import Dispatch, grid
from .uniforms import Uniforms

WORKGROUP = 256


@dataclass(frozen=True)
class RotaryUniforms(Uniforms):
    n: "u32"      # B * T * H * D
    T: "u32"
    H: "u32"
    D: "u32"
    R: "u32"      # rotary_dim
    pos_offset: "u32"
    theta: "f32"


def kernel_key() -> str:
    return "rotary_half_f32"


def source() -> str:
    return RotaryUniforms.wgsl_struct() + load_wgsl("rotary")


def encode(node, features=()) -> list:
    x = node.inputs["x"]
    B, T, H, D = x.shape
    u = RotaryUniforms(n=x.numel, T=T, H=H, D=D, R=node.params["rotary_dim"], pos_offset=node.params["pos_offset"],
                       theta=node.params["theta"])
    return [Dispatch(kernel_key(), source(), "main", u.pack(), [x, node.out], grid(-(-x.numel // WORKGROUP)))]


def cos_sin(T: int, R: int, theta: float, pos_offset: int = 0):
    """cos, sin [T, R] in float64, laid out as HF's rotate_half expects (frequencies repeated twice)."""
    import numpy as np

    inv_freq = theta ** (-np.arange(0, R, 2, dtype=np.float64) / R)   # [R/2]
    angles = np.arange(pos_offset, pos_offset + T, dtype=np.float64)[:, None] * inv_freq[None]
    angles = np.concatenate([angles, angles], axis=-1)               # [T, R]
    return np.cos(angles), np.sin(angles)


def reference(x, theta: float = 10000.0, pos_offset: int = 0, rotary_dim: int = None):
    """x [B, T, H, D] -> same shape."""
    import numpy as np

    x = np.asarray(x, np.float64)
    B, T, H, D = x.shape
    R = D if rotary_dim is None else rotary_dim
    cos, sin = cos_sin(T, R, theta, pos_offset)
    xr = x[..., :R]
    rotated = np.concatenate([-xr[..., R // 2:], xr[..., :R // 2]], axis=-1)
    out = x.copy()
    out[..., :R] = xr * cos[None, :, None, :] + rotated * sin[None, :, None, :]
    return out.astype(np.float32)
