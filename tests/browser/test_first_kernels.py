"""The foundation's kernels inside Pyodide on WebGPU (SwiftShader in CI), against numpy computed natively."""
import numpy as np
import pytest
from pytest_pyodide import run_in_pyodide

from staticml.ops import elementwise, matmul

F32_TOL = 1e-5  # vector add is exact in f32; matmul sums K<=300 products of [-1,1) values: ~K*2^-24 relative


@run_in_pyodide(packages=["staticml"])
async def _run_add(selenium, a: bytes, b: bytes, n: int) -> bytes:
    from staticml.gpu.oneshot import run_kernel
    from staticml.gpu.webgpu import WebGPUDevice
    from staticml.ops import elementwise

    dev = await WebGPUDevice.request()
    return await run_kernel(dev, elementwise.kernel_key("add"), elementwise.source(), "add",
                            elementwise.ElementwiseUniforms(n=n).pack(), [a, b], 4 * n, elementwise.workgroups(n))


@run_in_pyodide(packages=["staticml"])
async def _run_matmul(selenium, a: bytes, b: bytes, M: int, K: int, N: int) -> bytes:
    from staticml.gpu.oneshot import run_kernel
    from staticml.gpu.webgpu import WebGPUDevice
    from staticml.ops import matmul

    dev = await WebGPUDevice.request()
    return await run_kernel(dev, matmul.kernel_key(), matmul.source(), "matmul_tiled",
                            matmul.MatmulUniforms(M=M, K=K, N=N).pack(), [a, b], 4 * M * N, matmul.workgroups(M, N))


@pytest.mark.parametrize("n", [1, 3, 17, 256, 1000, 70_000])
def test_vector_add_matches_numpy(selenium_gpu, n):
    rng = np.random.default_rng(n)
    a, b = rng.uniform(-1, 1, n).astype(np.float32), rng.uniform(-1, 1, n).astype(np.float32)
    got = np.frombuffer(_run_add(selenium_gpu, a.tobytes(), b.tobytes(), n), np.float32)
    np.testing.assert_array_equal(got, elementwise.reference(a, b))


@pytest.mark.parametrize("M,K,N", [(1, 1, 1), (3, 17, 5), (17, 33, 9), (64, 127, 48), (127, 300, 3)])
def test_matmul_matches_numpy(selenium_gpu, M, K, N):
    rng = np.random.default_rng(M * K * N)
    a, b = rng.uniform(-1, 1, (M, K)).astype(np.float32), rng.uniform(-1, 1, (K, N)).astype(np.float32)
    got = np.frombuffer(_run_matmul(selenium_gpu, a.tobytes(), b.tobytes(), M, K, N), np.float32).reshape(M, N)
    np.testing.assert_allclose(got, matmul.reference(a, b), rtol=0, atol=F32_TOL * K)


@run_in_pyodide(packages=["staticml"])
async def _selftest(selenium) -> dict:
    from staticml import selftest
    from staticml.gpu.webgpu import WebGPUDevice

    dev = await WebGPUDevice.request()
    await selftest.run(dev)  # the first run fills the pipeline cache, which is meant to persist
    before = dev.live_objects()
    result = await selftest.run(dev)
    result["leaked"] = dev.live_objects() - before
    return result


def test_selftest_passes_and_frees_its_buffers(selenium_gpu):
    r = _selftest(selenium_gpu)
    assert r["ok"] and r["max_abs_err"] < 1e-4, r
    assert r["leaked"] == 0


@run_in_pyodide(packages=["staticml"])
async def _bad_wgsl(selenium) -> str:
    from staticml.gpu.webgpu import WebGPUDevice

    dev = await WebGPUDevice.request()
    try:
        await dev.pipeline("broken_kernel", "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }", "main")
    except Exception as e:  # a JsException carrying the glue's message
        return str(e)
    return "no error"


def test_a_kernel_that_does_not_compile_names_itself(selenium_gpu):
    message = _bad_wgsl(selenium_gpu)
    assert "broken_kernel does not compile" in message and "1:" in message
