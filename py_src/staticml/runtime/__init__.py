"""The tensor runtime: backend-neutral tensors and plans, the op API models call, and backends.

    from staticml.runtime import Plan, ops
    from staticml.runtime.numpy_backend import NumpyBackend      # native
    from staticml.runtime.webgpu_backend import WebGPUBackend    # Pyodide + WebGPU

May import: staticml.ops, staticml.quant (numpy lazily), staticml.gpu (WebGPU backend only).
"""
from . import ops
from .plan import Plan
from .tensor import Tensor, Weight

__all__ = ["Plan", "Tensor", "Weight", "ops"]
