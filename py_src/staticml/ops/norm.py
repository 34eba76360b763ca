"""Row normalizations (shaders/norm.wgsl): LayerNorm, RMSNorm and L2 normalize over the last dimension.

One 256-thread workgroup per row; statistics are two-pass (mean first, then squared deviations),
which keeps f32 LayerNorm accurate for rows with a large mean.
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import Dispatch, grid
from .uniforms import Uniforms

OPS = ("layer_norm", "rms_norm", "l2_normalize")


@dataclass(frozen=True)
class NormUniforms(Uniforms):
    rows: "u32"
    C: "u32"
    eps: "f32"


def kernel_key(op: str) -> str:
    return f"norm_{op}_f32"


def source() -> str:
    return NormUniforms.wgsl_struct() + load_wgsl("norm")


def encode(node, features=()) -> list:
    x = node.inputs["x"]
    C = x.shape[-1]
    rows = x.numel // C if C else 0
    u = NormUniforms(rows=rows, C=C, eps=node.params["eps"])
    params = {"layer_norm": [x, node.inputs.get("gamma"), node.inputs.get("beta")],
              "rms_norm": [x, node.inputs.get("gamma")], "l2_normalize": [x]}[node.op]
    return [Dispatch(kernel_key(node.op), source(), node.op, u.pack(), [*params, node.out], grid(rows))]


def layer_norm(x, gamma, beta, eps: float):
    import numpy as np

    x = np.asarray(x, np.float64)
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps) * gamma + beta).astype(np.float32)


def rms_norm(x, gamma, eps: float):
    import numpy as np

    x = np.asarray(x, np.float64)
    return (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * gamma).astype(np.float32)


def l2_normalize(x, eps: float):
    import numpy as np

    x = np.asarray(x, np.float64)
    return (x / np.maximum(np.sqrt((x * x).sum(-1, keepdims=True)), eps)).astype(np.float32)


def reference(op: str, x, gamma=None, beta=None, eps: float = 1e-5):
    if op == "layer_norm":
        return layer_norm(x, gamma, beta, eps)
    if op == "rms_norm":
        return rms_norm(x, gamma, eps)
    if op == "l2_normalize":
        return l2_normalize(x, eps)
    raise ValueError(f"unknown norm {op!r}; expected one of {OPS}")
