"""The self-test behind `window.staticml.selftest()`: a vector add and a small matmul on the backend
that runs (the raw kernels on a WebGPU device, the op API on the CPU kernels), checked against
plain-Python arithmetic (the browser runtime has no numpy).

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


async def run_on(backend) -> dict:
    """The self-test on whichever backend runs: the raw kernels on WebGPU, the plan path elsewhere."""
    if backend.name == "webgpu":
        return {**await run(backend.device), "backend": backend.name}
    return {**await run_plan(backend), "backend": backend.name}


async def run_plan(backend, n: int = 1000, M: int = 17, K: int = 33, N: int = 9) -> dict:
    """The same two checks through the op API (ops.add, ops.linear) on any backend: a vector add of n
    values and x [M, K] @ w [N, K]^T, against plain-Python arithmetic."""
    from .runtime import Plan, ops

    a, b, x, w = _values(n, 1), _values(n, 2), _values(M * K, 3), _values(N * K, 4)
    plan = Plan("selftest")
    total = ops.add(plan.input("a", (n,)), backend.constant("b", (n,), "f32", b))
    product = ops.linear(plan.input("x", (M, K)), backend.packed_weight("w", "f32", N, K, w))
    plan.output("sum", total)
    plan.output("product", product)
    prog = await backend.compile(plan)
    try:
        out = await prog.run({"a": a, "x": x})
    finally:
        prog.release()
    got_sum, got_product = array("f"), array("f")
    got_sum.frombytes(out["sum"])
    got_product.frombytes(out["product"])
    errors = {"vector_add": max(abs(g - (p + q)) for g, p, q in zip(got_sum, a, b)),
              "matmul": max(abs(got_product[i * N + j] - sum(x[i * K + k] * w[j * K + k] for k in range(K)))
                            for i in range(M) for j in range(N))}
    worst = max(errors.values())
    return {"ok": worst <= TOLERANCE, "max_abs_err": worst, "errors": errors, "tolerance": TOLERANCE}
