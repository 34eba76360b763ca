"""GPU timestamps in real Chromium (SwiftShader exposes `timestamp-query`): the normal replay stays one
compute pass without timestamps and one submit; profiling puts each dispatch in its own timestamped pass
and sums GPU time per kernel family; a device without the feature says so; ?f16=unpack withholds
shader-f16 from the device."""
import pytest
from pytest_pyodide import run_in_pyodide

pytestmark = pytest.mark.driver_timeout(300)  # SwiftShader compiles each pipeline in seconds


@run_in_pyodide(packages=["staticml"])
async def _profile_paths(selenium) -> dict:
    import js

    from staticml.gpu import webgpu
    from staticml.runtime import Plan, ops
    from staticml.runtime.webgpu_backend import WebGPUBackend

    # count compute passes (and how many carry timestampWrites) and queue submits
    js.eval("""
      self.__counts = { passes: 0, stamped: 0, submits: 0 };
      if (!GPUCommandEncoder.prototype.__origPass) {
        GPUCommandEncoder.prototype.__origPass = GPUCommandEncoder.prototype.beginComputePass;
        GPUCommandEncoder.prototype.beginComputePass = function (d) {
          self.__counts.passes++; if (d && d.timestampWrites) self.__counts.stamped++;
          return this.__origPass(d);
        };
        GPUQueue.prototype.__origSubmit = GPUQueue.prototype.submit;
        GPUQueue.prototype.submit = function (b) { self.__counts.submits++; return this.__origSubmit(b); };
      }
      0""")

    def counts() -> dict:
        c = js.eval("const c = self.__counts; self.__counts = { passes: 0, stamped: 0, submits: 0 }; JSON.stringify(c)")
        return __import__("json").loads(c)

    be = await WebGPUBackend.request()
    has = be.device.has_timestamps
    from array import array

    w = be.packed_weight("w", "f32", 24, 16, array("f", [((i * 7) % 13 - 6) / 10 for i in range(24 * 16)]).tobytes())
    g = be.constant("g", (24,), "f32", b"\x00\x00\x80\x3f" * 24)
    b = be.constant("b", (24,), "f32", bytes(4 * 24))
    plan = Plan("p")
    x = plan.input("x", (3, 16))
    y = ops.layer_norm(ops.linear(x, w), g, b)
    plan.output("y", ops.add(y, y))
    prog = await be.compile(plan, debug_mode=False)
    inputs = {"x": array("f", [((i * 5) % 11 - 5) / 4 for i in range(48)]).tobytes()}
    counts()
    before = await prog.run(inputs)
    normal = counts()
    out = {"has": has, "normal": normal, "dispatches": len(prog.dispatches), "describe": be.describe(),
           "stats": dict(be.stats)}
    if has:
        out["profile"] = await prog.profile(inputs, runs=2)
        out["profile_counts"] = counts()
        out["gpu_ms"] = await prog.gpu_time_ms(inputs)
        out["gpu_counts"] = counts()
    out["same_after_profiling"] = (await prog.run(inputs)) == before
    prog.release()

    # a device without timestamp-query (withheld on purpose): profiling refuses with a clear message
    be2 = WebGPUBackend(webgpu.WebGPUDevice(__import__("json").loads(
        await webgpu.glue.requestDevice("high-performance", "timestamp-query"))))
    plan2 = Plan("q")
    x2 = plan2.input("x", (3, 4))
    plan2.output("y", ops.add(x2, x2))
    prog2 = await be2.compile(plan2, debug_mode=False)
    out["no_ts_runs"] = len((await prog2.run({"x": bytes(48)}))["y"])
    try:
        await prog2.profile({"x": bytes(48)})
        out["no_ts_error"] = None
    except RuntimeError as e:
        out["no_ts_error"] = str(e)
    out["no_ts_describe"] = be2.describe()
    prog2.release()

    # ?f16=unpack: the worker sets STATICML_F16, the device goes without shader-f16
    import os

    os.environ["STATICML_F16"] = "unpack"
    try:
        dev3 = await webgpu.WebGPUDevice.request()
    finally:
        del os.environ["STATICML_F16"]
    out["unpack_describe"] = WebGPUBackend(dev3).describe()
    return out


def test_profile_mode_and_normal_path(selenium_gpu):
    r = _profile_paths(selenium_gpu)
    assert r["dispatches"] == 3
    # the normal path: one pass, no timestamps, one submit for the replay and the copy of its output
    assert r["normal"] == {"passes": 1, "stamped": 0, "submits": 1}
    assert r["stats"]["pipelines_compiled"] == 3 and r["stats"]["pipeline_compile_ms"] > 0
    assert r["describe"]["withheld_features"] == []
    assert r["same_after_profiling"]
    assert r["has"], "SwiftShader exposes timestamp-query (ENV.md); this Chromium did not"
    p = r["profile"]
    assert r["profile_counts"] == {"passes": 2 * 3, "stamped": 2 * 3, "submits": 2}  # 2 runs, a pass per dispatch
    assert r["gpu_counts"] == {"passes": 1, "stamped": 1, "submits": 1}
    assert p["dispatches"] == 3 and p["runs"] == 2
    assert set(p["by_family"]) == {"linear", "norm", "elementwise"}
    assert all(row["count"] == 1 and row["ms"] >= 0 for row in p["by_family"].values())
    assert list(p["matmul_by_shape"]) == ["3x16x24 f32"]
    assert r["gpu_ms"] >= 0
    assert r["no_ts_runs"] == 48
    assert "timestamp-query" in r["no_ts_error"]
    assert r["no_ts_describe"]["timestamp_query"] is False
    assert r["unpack_describe"]["withheld_features"] == ["shader-f16"]
    assert r["unpack_describe"]["f16_weights"] == "unpack2x16float"
