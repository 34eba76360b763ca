"""Every op on the CPU backend (staticml.runtime.cpu_backend: plans on the WebAssembly SIMD kernels) inside
Pyodide in headless Chromium, against its numpy reference computed natively: the same case sets as the
WebGPU run (op_case_sets.py, tolerances in ops/tolerance.py), for the plain SIMD128 and the relaxed-SIMD
build. Then a transformer block: plan and debug paths identical, every op within tolerance, and 100 runs
that leave the PyProxy count, the live plans and the kernels' memory where they were."""
import pytest
from pytest_pyodide import run_in_pyodide

import op_case_sets
from staticml.cpu.layout import q8_activation_max
from test_ops_plan import B, C, H, T, _layer_and_inputs, check_trace_natively

VARIANTS = ("simd128", "relaxed")


@run_in_pyodide(packages=["staticml"])
async def _run_cases(selenium, urls_json: str, variant: str, cases: list) -> list:
    """Build, compile and run each case on a CPU backend of the asked kernel build; each output's bytes."""
    import json

    from staticml.cpu.kernels import CpuKernels
    from staticml.runtime import opcases
    from staticml.runtime.cpu_backend import CpuBackend

    be = CpuBackend(await CpuKernels.load(json.loads(urls_json), variant, 1))
    assert be.kernels.info["variant"] == variant, be.kernels.info
    return await opcases.run_all(be, cases)


SETS = {"linear": op_case_sets.linear_cases, "matmul": op_case_sets.matmul_cases,
        "elementwise": op_case_sets.elementwise_cases, "embedding_attention_views": op_case_sets.embedding_attention_view_cases}


def with_q8_rounding(cases):
    """q8 linears run as q8p on the CPU: x is rounded per row to ±q8_activation_max(K) (ops/tolerance.py)."""
    for case in cases.items:
        w = case["args"].get("w") or {}
        if case["op"] == "linear" and w.get("wdtype") == "q8":
            case["ctx"]["x_levels"] = q8_activation_max(w["weight"][1])
    return cases


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case_set", list(SETS))
def test_every_op_on_the_cpu_backend_matches_its_reference(selenium_cpu, case_set, variant):
    cases = with_q8_rounding(SETS[case_set]())
    op_case_sets.check_outputs(cases, _run_cases(selenium_cpu, selenium_cpu.cpu_urls, variant, cases.items))


@pytest.mark.parametrize("shape", [(1, 70, 140, "q4", "silu", 40, 700), (13, 200, 1, "f16", "gelu_erf", 1, 1)])
def test_drawn_shapes_on_the_cpu_backend(selenium_cpu, shape):
    """Two of the hypothesis-drawn extremes of the WebGPU run (linear + a row-reduction chain)."""
    cases = with_q8_rounding(op_case_sets.drawn_cases(*shape))
    op_case_sets.check_outputs(cases, _run_cases(selenium_cpu, selenium_cpu.cpu_urls, "relaxed", cases.items))


@run_in_pyodide(packages=["staticml"])
async def _block_on_cpu(selenium, urls_json: str, tensors: dict, inputs: dict, shape: tuple, heads: int,
                        dtype: str) -> dict:
    import json

    import pyodide_js
    import staticml_cpu_plan

    from staticml.cpu.kernels import CpuKernels
    from staticml.runtime.cpu_backend import CpuBackend
    from staticml.runtime.example_block import block_plan

    proxies = pyodide_js._module.pyproxy_alloc_map   # filled while allocation tracing is on
    be = CpuBackend(await CpuKernels.load(json.loads(urls_json), "auto", 1))
    plan = block_plan(be, tensors, shape, heads, dtype)
    plans_before = staticml_cpu_plan.livePlans()
    prog = await be.compile(plan, debug_mode=False)
    fast = await prog.run(inputs)
    dbg = await be.compile(plan, debug_mode=True)
    slow = dbg.run_debug(inputs)
    dbg.release()
    for _ in range(3):
        await prog.run(inputs)
    before = {"proxies": proxies.size, "memory": be.kernels.mark(), "plans": staticml_cpu_plan.livePlans()}
    same = True
    for _ in range(100):
        same &= (await prog.run(inputs))["y"] == fast["y"]
    after = {"proxies": proxies.size, "memory": be.kernels.mark(), "plans": staticml_cpu_plan.livePlans()}
    profiled = await prog.profile(inputs, runs=2)         # each call timed; then a plain run is unchanged
    same_after_profile = (await prog.run(inputs)) == fast
    memory_after_profile = be.kernels.mark()
    prog.release()
    return {"fast": fast, "slow": slow["outputs"], "trace": slow["trace"], "calls": len(prog.calls),
            "keys": [c[0] for c in prog.calls], "before": before, "after": after, "same": same,
            "plans": (plans_before, staticml_cpu_plan.livePlans()), "profile": profiled,
            "same_after_profile": same_after_profile, "memory_after_profile": memory_after_profile}


@pytest.mark.parametrize("dtype", ["f32", "q8"])
def test_a_transformer_block_plan_and_debug_agree_and_runs_leak_nothing(selenium_cpu, dtype):
    selenium_cpu.run_js("pyodide._module.enable_pyproxy_allocation_tracing();")
    tensors, inputs = _layer_and_inputs(dtype)
    r = _block_on_cpu(selenium_cpu, selenium_cpu.cpu_urls, tensors, inputs, (B, T, C), H, dtype)
    assert r["calls"] == 9                     # one kernel call per op: the plan's 9 nodes
    assert r["fast"] == r["slow"]              # same calls, same order: bit-identical
    assert r["same"] and r["before"] == r["after"], (r["before"], r["after"])
    assert r["plans"][1] == r["plans"][0]      # released plans are gone from the runner's table
    # CpuProgram.profile(): every call timed once per run, summed per op, kernel and matmul shape
    prof = r["profile"]
    assert prof["dispatches"] == 9 and prof["runs"] == 2
    assert sum(row["count"] for row in prof["by_key"].values()) == 9
    assert set(prof["by_key"]) == set(r["keys"])
    assert {"linear", "attention", "layer_norm"} <= set(prof["by_family"])
    assert set(prof["matmul_by_shape"]) == {f"{B * T}x{k}x{n} {dtype}" for k, n in ((C, 3 * C), (C, C), (C, 4 * C), (4 * C, C))}
    assert all(row["ms"] >= 0 for row in prof["by_key"].values()) and prof["sum_ms"] >= 0
    assert r["same_after_profile"] and r["memory_after_profile"] == r["after"]["memory"]
    check_trace_natively(tensors, inputs, dtype, r["trace"], r["fast"]["pooled"])   # every CPU op vs its reference


@run_in_pyodide(packages=["staticml"])
async def _reload_then_close(selenium, urls_json: str, tensors: dict, inputs: dict, shape: tuple, heads: int,
                             dtype: str) -> dict:
    import json

    import staticml_cpu_plan

    from staticml.cpu.kernels import CpuKernels
    from staticml.runtime.cpu_backend import CpuBackend
    from staticml.runtime.example_block import block_plan

    be = CpuBackend(await CpuKernels.load(json.loads(urls_json), "auto", 1))
    start = be.kernels.mark()
    outs, tops, memory, made = [], [], [], set()
    for i in range(4):
        for ptr in made:             # drop the last copy of the block's weights (LoadedModel.release does this)
            be.free_block(ptr)
        before = set(be.blocks.spans)
        prog = await be.compile(block_plan(be, tensors, shape, heads, dtype))   # the weights again
        made = set(be.blocks.spans) - before
        outs.append((await prog.run(inputs))["y"])
        prog.release()
        if i == 0:
            resident = be.alloc_block(1000)   # a block made after the weights: the next copies must fill the hole
        tops.append(be.kernels.mark())
        memory.append(be.kernels.memory_bytes())
    prog = await be.compile(block_plan(be, tensors, shape, heads, dtype))   # a live plan: close() releases it
    plans_open = staticml_cpu_plan.livePlans()
    be.close()
    try:
        be.kernels.mark()
        after_close = "usable"
    except Exception as exc:
        after_close = str(exc)
    prog.release()   # a no-op now, not an error
    return {"outs": outs, "tops": tops, "memory": memory, "start": start, "resident": resident, "made": len(made),
            "plans_open": plans_open, "plans_after": staticml_cpu_plan.livePlans(),
            "memory_after": be.kernels.memory_bytes(), "after_close": after_close}


@pytest.mark.parametrize("dtype", ["f32", "q8"])
def test_weights_made_again_reuse_their_memory_and_close_gives_it_all_back(selenium_cpu, dtype):
    """free_block puts a model's blocks on the free list: three reloads under a block made later take the same
    memory (the arena's top and the wasm memory stay put) and compute the same outputs; close() unloads the
    kernels (wasm memory 0, no plans left) and a later use says so."""
    tensors, inputs = _layer_and_inputs(dtype)
    r = _reload_then_close(selenium_cpu, selenium_cpu.cpu_urls, tensors, inputs, (B, T, C), H, dtype)
    assert r["made"] >= 8                       # 4 linears' words (+ q8 scales), biases, LayerNorm parameters
    assert all(out == r["outs"][0] for out in r["outs"]), "a reloaded block computed something else"
    assert r["tops"] == [r["tops"][0]] * 4 and r["memory"] == [r["memory"][0]] * 4, (r["tops"], r["memory"])
    assert r["resident"] == r["tops"][0] - 1024  # the later block sits at the top: the copies filled the hole below
    assert r["plans_open"] >= 1 and r["plans_after"] == 0 and r["memory_after"] == 0
    assert "CPU kernels are not loaded" in r["after_close"]
