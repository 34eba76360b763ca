"""The in-browser half of `python build.py bench ops` (runs inside Pyodide, stdlib only).

Each section is one call from the page (so no single call runs for minutes) and returns JSON.
Times are wall-clock around work that is awaited to completion (`queue.onSubmittedWorkDone`),
after a warm-up run, so they include the GPU's execution; host-overhead rows time only the
host side of encoding and submitting.
"""
import json
import struct
import time
from array import array

from ..gpu import usage, webgpu
from ..ops import linear, matmul
from ..runtime import Plan, ops, profile
from ..runtime.webgpu_backend import WebGPUBackend, _replay

_state = {}
_BLOCK = 4099  # a prime-length block of pseudo-random values, tiled: generating 1M values in Python is slow


async def _backend() -> WebGPUBackend:
    if "be" not in _state:
        _state["be"] = await WebGPUBackend.request()
    return _state["be"]


def _lcg(n: int, seed: int) -> list:
    out, x = [], seed
    for _ in range(n):
        x = (1664525 * x + 1013904223) & 0xFFFFFFFF
        out.append(x)
    return out


def _tile(block: array, n: int) -> array:
    return (block * (n // len(block) + 1))[:n]


def f32_data(n: int, seed: int) -> bytes:
    return _tile(array("f", [v / 2**31 - 1.0 for v in _lcg(_BLOCK, seed)]), n).tobytes()


def weight_data(dtype: str, N: int, K: int, seed: int) -> tuple:
    from .. import quant

    words = N * quant.row_words(dtype, K)
    if dtype == "f32":
        data = f32_data(words, seed)
    elif dtype == "f16":
        halves = struct.pack(f"<{2 * _BLOCK}e", *[v / 2**31 - 1.0 for v in _lcg(2 * _BLOCK, seed)])
        data = _tile(array("I", halves), words).tobytes()
    else:  # any bit pattern is a valid int8 / nibble; the scales keep products O(1)
        data = _tile(array("I", _lcg(_BLOCK, seed)), words).tobytes()
    n_scales = {"q8": N, "q4": N * quant.groups(K)}.get(dtype, 0)
    scales = array("f", [0.01] * n_scales).tobytes() if n_scales else None
    return data, scales


async def _idle() -> None:
    await webgpu.glue.idle()


async def _time(run, min_s: float = 0.4, max_reps: int = 10) -> float:
    """Seconds per call of run() (awaited to GPU completion), after one warm-up."""
    run()
    await _idle()
    reps, t0 = 0, time.perf_counter()
    while True:
        run()
        await _idle()
        reps += 1
        if time.perf_counter() - t0 >= min_s or reps >= max_reps:
            return (time.perf_counter() - t0) / reps


async def matmul_throughput(args_json: str) -> str:
    """GFLOP/s of the linear kernel per weight dtype and shape (M, K, N). Optional args: "tiles", the kernel
    variants to force (linear.tiles' names "tiled", "big", "skinny"; default: what the shape picks), "splits",
    split-K slice counts to force on "tiled" (1 = none; default: linear.k_splits decides), and
    "repeat", independent linears on the same x and weight per replay (one pass), so that a kernel of a
    few microseconds is not timed against a round trip to the GPU. Where the device has `timestamp-query`,
    each row also has "gpu_us": the median GPU time of one linear (all its dispatches) from per-dispatch
    timestamps, taken right after ~0.3 s of back-to-back replays (a GPU left idle runs at a fraction of its clock)."""
    args = json.loads(args_json)
    be = await _backend()
    repeat = int(args.get("repeat", 1))
    forced = {None: (None, None), "tiled": (False, False), "big": (True, False), "skinny": (False, True)}
    rows = []
    for M, K, N in args["shapes"]:
        for dtype in args["dtypes"]:
            words, scales = weight_data(dtype, N, K, M + K + N)
            w = be.packed_weight("w", dtype, N, K, words, scales)
            for tile, splits in ((t, s) for t in args.get("tiles", [None]) for s in args.get("splits", [None])):
                be.linear_big, be.linear_skinny = forced[tile]
                be.linear_splits = splits
                plan = Plan("mm")
                x = plan.input("x", (M, K))
                for r in range(repeat):
                    plan.output(f"y{r}", ops.linear(x, w))
                prog = await be.compile(plan, debug_mode=False)
                prog.write_inputs({"x": f32_data(M * K, 7)})
                seconds = await _time(lambda: _replay(prog._ops)) / repeat
                chosen = linear.tiles(M, N, 1, be.software, be.linear_big, be.linear_skinny, K)
                row = {"dtype": dtype, "M": M, "K": K, "N": N, "tile": chosen, "repeat": repeat,
                       "k_splits": linear.k_splits(M, N, K, chosen, splits)[0],
                       "ms": round(seconds * 1e3, 4), "gflops": round(2 * M * K * N / seconds / 1e9, 3),
                       "kernel": linear.kernel_key(dtype, linear.f16_native(be.features), chosen)}
                if be.device.has_timestamps:
                    await _time(lambda: _replay(prog._ops), min_s=0.3, max_reps=10_000)   # clocks up
                    samples = [await be.device.profile(prog._ops, per_dispatch=True) for _ in range(3)]
                    per = profile.per_dispatch_median(samples)
                    each = len(per) // repeat   # dispatches per linear: 2 when split along K
                    linears = sorted((sum(per[i:i + each]), per[i:i + each]) for i in range(0, len(per), each))
                    us, parts = linears[repeat // 2][0] / 1e3, linears[repeat // 2][1]
                    row.update(gpu_us=round(us, 2), gpu_gflops=round(2 * M * K * N / us / 1e3, 1))
                    if each > 1:   # split-K: main's and splitk_sum's share
                        row["gpu_us_parts"] = [round(v / 1e3, 2) for v in parts]
                rows.append(row)
                prog.release()
            be.linear_big = be.linear_skinny = be.linear_splits = None
            be.release_weights()
    return json.dumps(rows)


async def host_overhead(args_json: str) -> str:
    """Host time per dispatch of a replayed n-dispatch plan vs a plain JS loop vs one FFI call per dispatch."""
    args = json.loads(args_json)
    n, reps = args["dispatches"], args["reps"]
    be = await _backend()
    plan = Plan("chain")
    y = x = plan.input("x", (1, 64))
    b = be.constant("b", (64,), "f32", f32_data(64, 3))
    for _ in range(n):
        y = ops.add(y, b)
    plan.output("y", y)
    prog = await be.compile(plan, debug_mode=False)
    prog.write_inputs({"x": f32_data(64, 4)})
    glue = webgpu.glue

    def per_dispatch_ffi():
        glue.beginRecord()
        for rec in prog.records:
            glue.recordDispatch(*rec)
        glue.submitRecord()

    # calls per sample: the browser's clock is coarsened to ~0.1 ms outside cross-origin isolation, and
    # a 200-dispatch replay takes ~60 us, so a sample must span many calls to be more than clock noise
    inner = args.get("inner", 100)

    def timed(call) -> float:
        t0 = time.perf_counter()
        for _ in range(inner):
            call()
        return (time.perf_counter() - t0) * 1e3 / inner

    ops_i32 = webgpu._i32([v for rec in prog.records for v in rec])
    samples = {"plan": [], "ffi": [], "js": [], "replay_js": []}
    for rep in range(reps + 1):  # interleaved, so load changes on a shared machine hit all three alike
        for name, ms in (("plan", lambda: timed(lambda: _replay(prog._ops))), ("ffi", lambda: timed(per_dispatch_ffi)),
                         ("js", lambda: glue.timeEncodeLoop(ops_i32, inner)),
                         ("replay_js", lambda: glue.timeReplay(prog._ops, inner))):
            value = ms()
            await _idle()  # not timed: only the host's encode + submit is measured
            if rep:  # rep 0 is the warm-up
                samples[name].append(value)
    plan_ms, ffi_ms, js_ms, rjs_ms = (sorted(samples[k])[len(samples[k]) // 2]
                                      for k in ("plan", "ffi", "js", "replay_js"))  # medians
    # what a dispatch costs the GPU when it does almost nothing (200 adds of 64 floats in one pass, from
    # timestamps), and the fixed round trips every forward pays: an empty submit until
    # onSubmittedWorkDone, and a 256-byte read back (copy + mapAsync)
    gpu = {}
    if be.device.has_timestamps:
        ms = sorted([await prog.gpu_time_ms() for _ in range(20)])
        gpu["gpu_us_per_dispatch_one_pass"] = round(ms[len(ms) // 2] * 1e3 / n, 3)
    trips, reads = [], []
    for _ in range(30):
        await _idle()
        t0 = time.perf_counter()
        glue.runPlan(webgpu._i32([]))
        await _idle()
        trips.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        await prog.read(y)
        reads.append((time.perf_counter() - t0) * 1e3)
    gpu["empty_submit_roundtrip_ms"] = round(sorted(trips)[len(trips) // 2], 3)
    gpu["readback_256B_roundtrip_ms"] = round(sorted(reads)[len(reads) // 2], 3)
    prog.release()
    be.release_weights()
    result = {"dispatches": len(prog.records), "reps": reps, "statistic": "median", **gpu,
              "plan_replay_us_per_dispatch": round(plan_ms * 1e3 / n, 2),
              "js_loop_us_per_dispatch": round(js_ms * 1e3 / n, 2),
              "replay_from_js_us_per_dispatch": round(rjs_ms * 1e3 / n, 2),
              "python_ffi_per_dispatch_us_per_dispatch": round(ffi_ms * 1e3 / n, 2)}
    result["plan_vs_js"] = round(plan_ms / js_ms, 2) if js_ms else None
    # two statistics less moved by a shared machine: noise only ever adds time, so the best sample of
    # each; and the median of per-rep ratios (the four are interleaved, so a slow spell hits one rep's pair)
    result["plan_vs_js_best"] = round(min(samples["plan"]) / min(samples["js"]), 2)
    ratios = sorted(p / j for p, j in zip(samples["plan"], samples["js"]) if j)
    result["plan_vs_js_paired_median"] = round(ratios[len(ratios) // 2], 2) if ratios else None
    result["ffi_vs_plan"] = round(ffi_ms / plan_ms, 2) if plan_ms else None
    return json.dumps(result)


async def tiled_vs_naive(args_json: str) -> str:
    """The register-tiled linear kernel vs one-thread-per-output (and the 16x16 tiled) at M=K=N=size, f32."""
    size = json.loads(args_json)["size"]
    be = await _backend()
    dev = be.device
    M = K = N = size
    a, bm = dev.buffer(4 * M * K), dev.buffer(4 * K * N)
    out = dev.buffer(4 * M * N)
    dev.write(a, f32_data(M * K, 1))
    dev.write(bm, f32_data(K * N, 2))
    u_buf = dev.buffer(256, usage.UNIFORM_W)
    rows = []
    lin_u = linear.LinearUniforms(M=M, K=K, N=N, row_words=N, n_groups=0, x_batch=0, w_batch=0, out_batch=0,
                                  act=0, has_bias=0, has_res=0).pack()
    for name, key, src, entry, uni, groups in [
        ("naive (1 thread/output)", matmul.kernel_key("naive"), matmul.source(), "matmul_naive",
         matmul.MatmulUniforms(M=M, K=K, N=N).pack(), (-(-N // 16), -(-M // 16), 1)),
        ("tiled 16x16 (shared memory)", matmul.kernel_key("tiled"), matmul.source(), "matmul_tiled",
         matmul.MatmulUniforms(M=M, K=K, N=N).pack(), matmul.workgroups(M, N)),
        ("linear tiled 64x64x32 (shared)", linear.kernel_key("f32_kn"), linear.source("f32_kn"), "main",
         lin_u, linear.workgroups(M, N)),
        ("linear direct 32x32, 4x4/thread", linear.kernel_key("f32_kn", tile="direct"), linear.source("f32_kn"),
         "main_direct", lin_u, linear.workgroups(M, N, tile="direct")),
    ]:
        pipeline = await dev.pipeline(key, src, entry)
        dev.write(u_buf, uni)
        if entry != "matmul_naive" and entry != "matmul_tiled":  # the linear kernel's bindings: x, w, scales, bias, residual, out
            binds = [(1, a, 0, 0), (2, bm, 0, 0), (3, be.dummy, 0, 0), (4, be.dummy, 0, 0), (5, be.dummy, 0, 0),
                     (6, out, 0, 0)]
        else:
            binds = [(1, a, 0, 0), (2, bm, 0, 0), (3, out, 0, 0)]
        group = dev.bind_group(pipeline, [(0, u_buf, 0, len(uni))] + binds)
        seconds = await _time(lambda: dev.run([(pipeline, group, *groups)]), min_s=1.0, max_reps=5)
        dev.release(group)
        rows.append({"kernel": name, "size": size, "ms": round(seconds * 1e3, 1),
                     "gflops": round(2 * M * K * N / seconds / 1e9, 3)})
    for buf in (a, bm, out, u_buf):
        dev.release(buf)
    best = min(rows[2:], key=lambda r: r["ms"])
    rows.append({"speedup_linear_vs_naive": round(rows[0]["ms"] / best["ms"], 2), "best": best["kernel"]})
    return json.dumps(rows)


async def adapter(args_json: str) -> str:
    be = await _backend()
    return json.dumps(be.device.info)
