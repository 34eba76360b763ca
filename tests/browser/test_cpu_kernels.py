"""Every CPU (WebAssembly SIMD) kernel inside Pyodide in headless Chromium, through the product's
Python wrappers (staticml.cpu.kernels) and site/cpu_glue.js, against numpy references
(tests/browser/cpu_cases.py), for both the plain SIMD128 and the relaxed-SIMD build, single thread.
Each variant runs all its cases in one browser round trip; the multi-threaded build is
tests/browser/test_cpu_threads.py (it needs a cross-origin-isolated page)."""
import inspect
import json
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide

import cpu_cases
from harness.cpu_site import install_cpu_kernels

REPO = Path(__file__).resolve().parents[2]
QMAX = {"simd128": 127, "relaxed": 63}   # the q8 activation range of each build (matmul_q8.c)
CASES = {variant: {c["id"]: c for c in cpu_cases.all_cases(qmax)} for variant, qmax in QMAX.items()}


@run_in_pyodide(packages=["staticml"])
async def _run(selenium, runner_src: str, urls_json: str, variant: str, cases: list) -> dict:
    namespace = {}
    exec(runner_src, namespace)
    return await namespace["run_cases"](urls_json, variant, 1, cases)


@pytest.fixture(scope="module")
def cpu_results(request, selenium_module_scope):
    dist = Path(request.config.getoption("--dist-dir"))
    urls = install_cpu_kernels(dist if dist.is_absolute() else REPO / dist)
    selenium = selenium_module_scope
    selenium.run_js("""
        self.__staticmlCpu = await import("./cpu_glue.js");
        pyodide.registerJsModule("staticml_cpu", self.__staticmlCpu);
    """)
    selenium.load_package(["staticml"])
    selenium.set_script_timeout(300)
    runner = inspect.getsource(cpu_cases.run_cases)
    return {variant: _run(selenium, runner, urls, variant, [cpu_cases.wire(c) for c in cases.values()])
            for variant, cases in CASES.items()}


@pytest.mark.parametrize("variant", list(QMAX))
def test_variant_is_the_one_asked_for(cpu_results, variant):
    info = cpu_results[variant]["info"]
    assert info["variant"] == variant and info["threads"] == 1, info
    assert info["reasons"], info


@pytest.mark.parametrize("variant", list(QMAX))
@pytest.mark.parametrize("case_id", list(CASES["simd128"]))
def test_cpu_kernel_matches_numpy(cpu_results, variant, case_id):
    cpu_cases.compare(CASES[variant][case_id], cpu_results[variant]["results"][case_id])


@run_in_pyodide(packages=["staticml"])
async def _fetch_into(selenium, urls_json: str, url: str, offset: int, nbytes: int) -> bytes:
    import json

    from staticml.cpu.kernels import CpuKernels

    cpu = await CpuKernels.load(json.loads(urls_json), variant="simd128")
    ptr = cpu.alloc(nbytes)
    await cpu.fetch_into(ptr, url, offset, nbytes)
    return cpu.read(ptr, nbytes)


def test_fetch_into_puts_a_byte_range_of_a_url_into_the_wasm_memory(request, cpu_results, selenium_module_scope):
    """Weights go from the network into the kernels' memory without passing through Python; the test
    server ignores Range (like Cloudflare Pages), so the glue must cut the range out of a 200 answer."""
    dist = Path(request.config.getoption("--dist-dir"))
    dist = dist if dist.is_absolute() else REPO / dist
    urls = install_cpu_kernels(dist)
    data = (dist / "cpu" / "kernels-relaxed.wasm").read_bytes()
    got = _fetch_into(selenium_module_scope, urls, "./cpu/kernels-relaxed.wasm", 1000, 4321)
    assert got == data[1000:1000 + 4321]


@run_in_pyodide(packages=["staticml"])
async def _bad_calls(selenium, urls_json: str) -> list:
    import json

    from staticml.cpu.kernels import CpuKernels

    errors = []
    for call in [lambda: CpuKernels.load({"simd128": "x"}),
                 lambda: CpuKernels.load(json.loads(urls_json), variant="avx512")]:
        try:
            await call()
        except ValueError as e:
            errors.append(str(e))
    cpu = await CpuKernels.load(json.loads(urls_json), variant="simd128")
    for call in [lambda: cpu.matmul(0, 0, 0, 1, 1, 1, dtype="bf16"),
                 lambda: cpu.matmul(0, 0, 0, 1, 1, 1, dtype="q4"),
                 lambda: cpu.matmul(0, 0, 0, 1, 1, 1, dtype="q8p"),
                 lambda: cpu.matmul(0, 0, 0, 1, 1, 1, dtype="f16", int8_activations=True),
                 lambda: cpu.embedding(0, 0, 1, 1, 1, 1, 0, dtype="q4")]:
        try:
            call()
        except ValueError as e:
            errors.append(str(e))
    return errors


def test_bad_calls_say_what_is_wrong(cpu_results, selenium_module_scope):
    urls = json.dumps({name: f"./cpu/kernels-{name}.wasm" for name in ("simd128", "relaxed", "simd128-threads", "relaxed-threads")})
    errors = _bad_calls(selenium_module_scope, urls)
    assert len(errors) == 7, errors
    assert "lacks relaxed, simd128-threads, relaxed-threads" in errors[0]
    assert "unknown CPU kernel variant 'avx512'" in errors[1]
    assert "unknown weight dtype 'bf16'" in errors[2]
    assert "q4 weights need their scales pointer" in errors[3]
    assert "q8p weights need their scales pointer" in errors[4]
    assert "int8_activations needs q8 weights" in errors[5]
    assert "unknown embedding dtype 'q4'" in errors[6]


@run_in_pyodide(packages=["staticml"])
async def _fetch_linear(selenium, urls_json: str, url: str, x: bytes, M: int, K: int, N: int) -> dict:
    import json

    from staticml.cpu.kernels import CpuKernels

    cpu = await CpuKernels.load(json.loads(urls_json), variant="relaxed")
    w = await cpu.fetch_linear_weight(url, 64, "f32", N, K)
    after_weight = cpu.mark()
    xp, out = cpu.upload(x), cpu.alloc(4 * M * N)
    cpu.matmul(xp, w, out, M, K, N)
    return {"out": cpu.read(out, 4 * M * N), "weight_ptr": w, "mark_after_weight": after_weight}


def test_fetch_linear_weight_packs_a_rowmajor_f32_weight_in_wasm_memory(request, cpu_results, selenium_module_scope):
    """A row-major f32 weight (the GPU's layout, as the converter ships it) at an offset inside a file is
    fetched into the wasm memory, packed into panels there, and the temporary raw copy is freed."""
    import numpy as np

    dist = Path(request.config.getoption("--dist-dir"))
    dist = dist if dist.is_absolute() else REPO / dist
    urls = install_cpu_kernels(dist)
    M, K, N = 5, 33, 19
    rng = np.random.default_rng(7)
    w = rng.uniform(-1, 1, (N, K)).astype(np.float32)
    x = rng.uniform(-1, 1, (M, K)).astype(np.float32)
    (dist / "cpu" / "weights.bin").write_bytes(b"\xee" * 64 + w.tobytes() + b"\xee" * 16)
    got = _fetch_linear(selenium_module_scope, urls, "./cpu/weights.bin", x.tobytes(), M, K, N)
    out = np.frombuffer(got["out"], np.float32).reshape(M, N)
    np.testing.assert_allclose(out, cpu_cases.ref_linear(x, w), **cpu_cases._tol_f32(K))
    # the raw copy was released: the arena top is right after the packed weight (64-byte rounded)
    from staticml.cpu.layout import weight_nbytes
    assert got["mark_after_weight"] == got["weight_ptr"] + -(-weight_nbytes("f32", N, K) // 64) * 64


@run_in_pyodide(packages=["staticml"])
async def _fetch_q8p(selenium, urls_json: str, url: str, scales: bytes, x: bytes, M: int, K: int, N: int) -> dict:
    import json

    from staticml.cpu.kernels import CpuKernels
    from staticml.cpu.layout import CPU_LAYOUT, weight_nbytes

    cpu = await CpuKernels.load(json.loads(urls_json), variant="relaxed")
    dtype = CPU_LAYOUT["q8"]
    w = await cpu.fetch_linear_weight(url, 64, dtype, N, K)
    after_weight = cpu.mark()
    s, xp, out = cpu.upload(scales), cpu.upload(x), cpu.alloc(4 * M * N)
    cpu.matmul(xp, w, out, M, K, N, dtype=dtype, scales=s)
    return {"out": cpu.read(out, 4 * M * N), "packed": cpu.read(w, weight_nbytes(dtype, N, K)),
            "weight_ptr": w, "mark_after_weight": after_weight}


def test_fetch_linear_weight_packs_a_shipped_q8_weight_into_q8p(request, cpu_results, selenium_module_scope):
    """The converter's q8 bytes (the GPU's layout) become q8p panels in the wasm memory
    (layout.CPU_LAYOUT["q8"]); the matmul on them matches the int16-activation reference."""
    import numpy as np

    from staticml.cpu import layout, pack

    dist = Path(request.config.getoption("--dist-dir"))
    dist = dist if dist.is_absolute() else REPO / dist
    urls = install_cpu_kernels(dist)
    M, K, N = 6, 37, 19
    rng = np.random.default_rng(8)
    w = rng.uniform(-1, 1, (N, K)).astype(np.float32)
    x = rng.uniform(-1, 1, (M, K)).astype(np.float32)
    wq, s = pack.quantize_q8(w)
    (dist / "cpu" / "weights-q8.bin").write_bytes(b"\xee" * 64 + wq + b"\xee" * 16)
    got = _fetch_q8p(selenium_module_scope, urls, "./cpu/weights-q8.bin", s, x.tobytes(), M, K, N)
    assert got["packed"] == pack.pack_q8p(wq, N, K)
    want = cpu_cases.ref_matmul_q8(x, np.frombuffer(wq, np.int8).reshape(N, -1)[:, :K], np.frombuffer(s, np.float32),
                                   layout.q8_activation_max(K))
    out = np.frombuffer(got["out"], np.float32).reshape(M, N)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4 * (np.abs(want).max() + 1))
    assert got["mark_after_weight"] == got["weight_ptr"] + -(-layout.weight_nbytes("q8p", N, K) // 64) * 64
