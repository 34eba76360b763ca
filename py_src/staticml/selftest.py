"""The GPU self-test behind `window.staticml.selftest()`: a vector add and a small matmul on the
device, checked against plain-Python arithmetic (the browser runtime has no numpy).

Shapes are deliberately not multiples of any workgroup or tile size.
"""
from array import array

from .gpu.oneshot import run_kernel
from .ops import elementwise, matmul

TOLERANCE = 1e-4  # f32 sums of <= 33 products of values in [-1, 1]: rounding stays far below this


def _values(n: int, seed: int) -> array:
    """Deterministic f32 values in [-1, 1) from a 32-bit LCG (no `random` state shared with the app)."""
    out, x = array("f"), seed
    for _ in range(n):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        out.append(x / 2**31 - 1.0)
    return out


async def vector_add(device, n: int = 1000) -> float:
    a, b = _values(n, 1), _values(n, 2)
    got = array("f")
    got.frombytes(await run_kernel(device, elementwise.kernel_key("add"), elementwise.source(), "add",
                                   elementwise.ElementwiseUniforms(n=n).pack(), [a.tobytes(), b.tobytes()],
                                   4 * n, elementwise.workgroups(n)))
    return max(abs(g - (x + y)) for g, x, y in zip(got, a, b))


async def small_matmul(device, M: int = 17, K: int = 33, N: int = 9) -> float:
    a, b = _values(M * K, 3), _values(K * N, 4)
    got = array("f")
    got.frombytes(await run_kernel(device, matmul.kernel_key(), matmul.source(), "matmul_tiled",
                                   matmul.MatmulUniforms(M=M, K=K, N=N).pack(), [a.tobytes(), b.tobytes()],
                                   4 * M * N, matmul.workgroups(M, N)))
    err = 0.0
    for i in range(M):
        for j in range(N):
            want = sum(a[i * K + k] * b[k * N + j] for k in range(K))
            err = max(err, abs(got[i * N + j] - want))
    return err


async def run(device) -> dict:
    errors = {"vector_add": await vector_add(device), "matmul": await small_matmul(device)}
    worst = max(errors.values())
    return {"ok": worst <= TOLERANCE, "max_abs_err": worst, "errors": errors, "tolerance": TOLERANCE}
