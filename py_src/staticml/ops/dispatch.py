"""What a kernel family's `encode()` returns for the WebGPU backend: one Dispatch per compute pass entry.

Kept free of any GPU import so the families stay importable natively (tests read kernel keys,
uniform bytes and workgroup counts without a browser).
"""
from dataclasses import dataclass

MAX_GROUPS = 65535  # WebGPU's default maxComputeWorkgroupsPerDimension

DUMMY = "dummy"  # binds the backend's 16-byte placeholder where an optional input is absent
# a binding the entry point never reads: left out of the bind group, since the layout WebGPU derives for an entry
# point has only the bindings it uses (an extra entry makes the bind group invalid)
UNUSED = "unused"


@dataclass(frozen=True)
class Scratch:
    """A binding for a kernel's own intermediate of `nbytes` (split-K's partial sums): the backend binds one
    buffer, the size of the largest, wherever a dispatch asks for one. Dispatches run in order, so a scratch
    is free again once the dispatch after its writer has read it; no plan tensor lives in it."""
    nbytes: int


@dataclass
class Dispatch:
    key: str            # readable pipeline-cache key, e.g. "linear_q8_gelu_erf_bias_64x64x32"
    source: str         # full WGSL (uniform struct + constants + family file)
    entry: str          # entry point
    uniforms: bytes     # packed Uniforms (binding 0)
    buffers: list       # bindings 1..n in order: Tensor (whole buffer bound), DUMMY, UNUSED or Scratch
    groups: tuple       # (x, y, z) workgroups


def grid(n_groups: int) -> tuple[int, int, int]:
    """A 2-D grid covering n_groups workgroups (the shader flattens it: id = x + y * nwg.x)."""
    n_groups = max(1, n_groups)
    x = min(n_groups, MAX_GROUPS)
    return x, -(-n_groups // x), 1


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)
