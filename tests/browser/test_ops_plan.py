"""Plans on WebGPU: one submit per replay, plan and debug paths identical on a transformer block, every
debug-traced op within tolerance of its reference, and 100 replays leak no PyProxy and no GPU object."""
import asyncio

import numpy as np
import pytest
import torch
from pytest_pyodide import run_in_pyodide

from staticml.runtime import debug
from staticml.runtime.example_block import bert_layer_tensors, block_plan
from staticml.runtime.numpy_backend import NumpyBackend

pytestmark = pytest.mark.driver_timeout(300)  # SwiftShader compiles each pipeline in seconds

B, T, C, H, I = 2, 17, 64, 4, 256


def _layer_and_inputs(dtype="f32"):
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertLayer

    torch.manual_seed(0)
    layer = BertLayer(BertConfig(hidden_size=C, num_attention_heads=H, intermediate_size=I, layer_norm_eps=1e-12,
                                 attn_implementation="eager")).eval()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    mask = np.ones((B, T), np.float32)
    mask[1, 9:] = 0
    return bert_layer_tensors(layer, dtype), {"x": x.tobytes(), "mask": mask.tobytes()}


@run_in_pyodide(packages=["staticml"])
async def _plan_and_debug(selenium, tensors: dict, inputs: dict, shape: tuple, heads: int, dtype: str,
                         split_k: int = None) -> dict:
    from js import GPUQueue

    from staticml.runtime.example_block import block_plan
    from staticml.runtime.webgpu_backend import WebGPUBackend

    be = await WebGPUBackend.request()
    if split_k:   # every linear on the 64x64 kernel in split_k slices of K (two dispatches each, one shared scratch)
        be.software, be.linear_big, be.linear_skinny, be.linear_splits = False, False, False, split_k
    plan = block_plan(be, tensors, shape, heads, dtype)
    prog = await be.compile(plan, debug_mode=False)
    # count real queue.submit calls made by one run (replay and the copies of its outputs)
    GPUQueue.prototype._staticmlSubmit = GPUQueue.prototype.submit
    selenium_counter = __import__("js").eval(
        "self.__submits = 0; GPUQueue.prototype.submit = function (b) { self.__submits++; "
        "return this._staticmlSubmit(b); }; 0")
    fast = await prog.run(inputs)
    submits = __import__("js").eval("const n = self.__submits; GPUQueue.prototype.submit = "
                                    "GPUQueue.prototype._staticmlSubmit; n")
    dbg = await be.compile(plan, debug_mode=True)
    slow = await dbg.run_debug(inputs)
    n_dispatches = len(prog.dispatches)
    scratches = {id(b) for _, d in prog.dispatches for b in d.buffers if type(b).__name__ == "Scratch"}
    prog.release()
    dbg.release()
    return {"fast": fast, "slow": slow["outputs"], "trace": slow["trace"], "submits": submits,
            "dispatches": n_dispatches, "outputs": len(plan.outputs), "scratch_bindings": len(scratches),
            "scratch_buffer": prog._scratch is not None}


@pytest.mark.parametrize("dtype, split_k", [("f32", None), ("q8", None), ("q8", 2)])
def test_plan_and_debug_paths_agree_and_each_op_matches_its_reference(selenium_gpu, dtype, split_k):
    """split_k: the block's four linears on the 64x64 kernel, each split in 2 slices of K through one scratch buffer
    (each linear's second pass reads it before the next linear's first pass overwrites it)."""
    tensors, inputs = _layer_and_inputs(dtype)
    r = _plan_and_debug(selenium_gpu, tensors, inputs, (B, T, C), H, dtype, split_k)
    assert r["outputs"] == 2 and r["submits"] == 1, r   # the whole plan and its read back in one submit
    assert r["dispatches"] == (13 if split_k else 9)
    assert (r["scratch_bindings"], r["scratch_buffer"]) == ((4, True) if split_k else (0, False))
    assert r["fast"] == r["slow"]  # same kernels, same order: bit-identical

    check_trace_natively(tensors, inputs, dtype, r["trace"], r["fast"]["pooled"])


def check_trace_natively(tensors: dict, inputs: dict, dtype: str, trace: list, pooled: bytes) -> None:
    """The same model code on the numpy backend: every traced browser op against its reference, and the
    pooled output against the numpy run."""
    be = NumpyBackend()
    plan = block_plan(be, tensors, (B, T, C), H, dtype)
    report = debug.compare_trace(be, plan, inputs, trace)
    assert [op for _, op, _ in report] == ["linear", "attention", "linear", "layer_norm", "linear", "linear",
                                           "layer_norm", "mean_pool", "l2_normalize"]
    want = asyncio.run(be.compile(plan)).run_arrays(inputs)
    got = np.frombuffer(pooled, np.float32).reshape(B, C)
    cos = (got * want["pooled"]).sum(1)
    assert (cos > 0.99999).all(), cos


@run_in_pyodide(packages=["staticml"])
async def _leak_check(selenium, tensors: dict, inputs: dict, shape: tuple, heads: int) -> dict:
    import pyodide_js
    import staticml_glue

    from staticml.runtime import Plan
    from staticml.runtime.example_block import encoder_block, load_block
    from staticml.runtime.webgpu_backend import WebGPUBackend

    proxies = pyodide_js._module.pyproxy_alloc_map  # filled while allocation tracing is on
    from pyodide.ffi import create_proxy

    control = create_proxy({"a": 1})  # proves the counter sees a live PyProxy
    control_seen = proxies.size
    control.destroy()
    control_gone = proxies.size
    be = await WebGPUBackend.request()
    gpu_before_compile = staticml_glue.liveObjects()
    pipelines_before = len(be.device._pipelines)
    w = load_block(be, "l0.", tensors)
    plan = Plan("block")
    x, mask = plan.input("x", shape), plan.input("mask", shape[:2])
    plan.output("y", encoder_block(x, mask, w, heads))
    prog = await be.compile(plan)
    first = await prog.run(inputs)
    for _ in range(3):  # warm-up: anything created once per program exists now
        await prog.run(inputs)
    # runs in flight together each get their own mappable buffer (glue.replayRead's pool)
    import asyncio

    together = await asyncio.gather(*(prog.run(inputs) for _ in range(3)))
    before = {"proxies": proxies.size, "gpu": staticml_glue.liveObjects()}
    same = True
    for _ in range(100):
        same &= (await prog.run(inputs))["y"] == first["y"]
    after = {"proxies": proxies.size, "gpu": staticml_glue.liveObjects()}
    # releasing the program and the weights, then trimming the pool, returns every GPU object
    n_weights = len(be._weights)
    prog.release()
    be.release_weights()
    be.pool.trim()
    same &= all(r["y"] == first["y"] for r in together)
    return {"before": before, "after": after, "same": same, "released": staticml_glue.liveObjects(),
            "baseline": gpu_before_compile + len(be.device._pipelines) - pipelines_before,  # cached pipelines stay
            "weights": n_weights, "control": (control_seen, control_gone)}


def test_100_replays_leak_no_pyproxy_and_no_gpu_object(selenium_gpu):
    selenium_gpu.run_js("pyodide._module.enable_pyproxy_allocation_tracing();")
    tensors, inputs = _layer_and_inputs()
    r = _leak_check(selenium_gpu, tensors, inputs, (B, T, C), H)
    assert r["control"][0] == r["control"][1] + 1, r["control"]
    assert r["same"]
    assert r["after"] == r["before"], r
    assert r["released"] == r["baseline"], r
    assert r["weights"] == 12  # 4 weights + 4 biases + 2 LayerNorms x 2


@run_in_pyodide(packages=["staticml"])
async def _pool_reuse(selenium) -> dict:
    import staticml_glue

    from staticml.runtime import Plan, ops
    from staticml.runtime.webgpu_backend import WebGPUBackend

    be = await WebGPUBackend.request()
    b = be.constant("b", (64,), "f32", bytes(256))

    def chain(n):
        plan = Plan(f"chain{n}")
        y = plan.input("x", (4, 64))
        for _ in range(n):
            y = ops.add(y, b)
        plan.output("y", y)
        return plan

    first = await be.compile(chain(50))
    buffers_first = len(first._owned_buffers)
    first.release()
    live = staticml_glue.liveObjects()
    second = await be.compile(chain(30))  # same sizes: served from the pool, no new buffer
    fresh = staticml_glue.liveObjects() - live - len(second._objects)
    out = await second.run({"x": bytes(4 * 256)})
    second.release()
    be.release_weights()
    be.pool.trim()
    return {"buffers_first": buffers_first, "fresh_buffers_second": fresh, "idle_after_trim": be.pool.idle(),
            "y_is_zero": out["y"] == bytes(4 * 256), "describe": be.describe()}


def test_buffer_pool_reuses_within_and_across_plans(selenium_gpu):
    r = _pool_reuse(selenium_gpu)
    assert r["buffers_first"] == 3  # the input + two temps alternating down a 50-op chain
    assert r["fresh_buffers_second"] == 0
    assert r["idle_after_trim"] == 0 and r["y_is_zero"]
    assert r["describe"]["backend"] == "webgpu" and r["describe"]["linear_variant"] == "direct"  # SwiftShader


@run_in_pyodide(packages=["staticml"])
async def _rejected_replay(selenium) -> dict:
    from pyodide.ffi import JsException

    from staticml.runtime import Plan, ops
    from staticml.runtime.webgpu_backend import WebGPUBackend

    be = await WebGPUBackend.request()
    b = be.constant("b", (64,), "f32", bytes(256))
    plan = Plan("add")
    plan.output("y", ops.add(plan.input("x", (4, 64)), b))
    prog = await be.compile(plan)
    from array import array

    x = array("f", range(256)).tobytes()
    first = await prog.run({"x": x})
    be.release_weights()   # the constant's buffer is destroyed under a live program
    try:
        await prog.run({"x": x})
        error = None
    except JsException as e:
        error = str(e)
    prog.release()
    return {"first_ok": first["y"] == x, "error": error}


def test_a_replay_webgpu_rejects_raises_instead_of_returning_an_earlier_runs_bytes(selenium_gpu):
    """run() reads back through a reused mappable buffer: a submit that fails validation must raise, not hand
    back what the last run left in that buffer."""
    r = _rejected_replay(selenium_gpu)
    assert r["first_ok"], r
    assert r["error"] and "WebGPU rejected a plan's replay" in r["error"], r
