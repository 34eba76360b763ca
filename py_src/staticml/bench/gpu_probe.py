"""The in-worker half of the benchmark page (site/bench.js -> window.staticml.bench -> worker_entry.bench).

Runs inside Pyodide next to the page's own feature-extraction pipeline, so it times the very programs
`embed()` uses. Stdlib only. One call per probe:

- `describe`: adapter, features, the kernel variants chosen, what compiling pipelines cost so far;
- `case`: one benchmark input set (staticml.bench_inputs) at a batch size, timed at four depths:
    e2e_ms       texts -> embeddings as Python lists, in the worker (pure-Python tokenizer included;
                 the page's own `embed()` adds postMessage + JSON, see bench.js's `latency`)
    tokenize_ms  the tokenizer alone
    forward_ms   padded token ids -> embeddings bytes: write inputs, one replay (one submit), read back
    gpu_ms       GPU time of the same replay encoded in one pass, from two timestamps
  plus host encode+submit time per replay, the readback round trip, dispatches per forward, and with
  profile > 0 the GPU time per kernel family / key / matmul shape (one pass per dispatch, timestamps);
- `idle`: the same stages, each run after the worker sat idle for given gaps (idle_probe; both backends).

Times are medians over `reps` (performance.now() is coarsened to ~0.1 ms outside cross-origin isolation,
so each case also reports the mean of a back-to-back loop, `*_loop_mean_ms`).
"""
import time
from statistics import median

from .. import bench_inputs
from ..gpu import webgpu
from ..runtime import profile as gpu_profile
from ..runtime.webgpu_backend import _replay

CASES = {"short_1": lambda: [bench_inputs.SHORT], "batch_8": lambda: list(bench_inputs.BATCH_8),
         "batch_32": lambda: list(bench_inputs.BATCH_32), "passage_250": lambda: [bench_inputs.PASSAGE_250],
         "throughput_128": lambda: [bench_inputs.THROUGHPUT_128]}


def texts_of(case: str, repeat: int = 1) -> list:
    if case not in CASES:
        raise ValueError(f"unknown bench case {case!r}; expected one of {sorted(CASES)}")
    return CASES[case]() * max(1, repeat)


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


def _stats(samples: list) -> dict:
    s = sorted(samples)
    return {"median_ms": round(median(s), 3), "min_ms": round(s[0], 3),
            "p90_ms": round(s[min(len(s) - 1, int(0.9 * len(s)))], 3), "n": len(s)}


async def _idle() -> None:
    await webgpu.glue.idle()


async def describe(extractor) -> dict:
    be = extractor.backend
    info = be.device.info
    return {**be.describe(), "features": info.get("features", []), "adapter_features": info.get("adapterFeatures", []),
            "limits": info.get("limits", {}), "build_stats": dict(be.stats), "pipeline_stats": dict(extractor.stats),
            "model": {"dtype": extractor.model.dtype, "max_length": extractor.max_length}}


class Case:
    """One probe's input set, tokenized, and the forwards encode() makes of it (shared with cpu_probe)."""

    @classmethod
    async def prepare(cls, extractor, args: dict) -> "Case":
        self = cls()
        self.texts = texts_of(args["case"], int(args.get("repeat", 1)))
        self.batch_size = int(args.get("batch_size", 32))
        self.reps, self.warmup = int(args.get("reps", 10)), int(args.get("warmup", 2))
        self.profile_runs = int(args.get("profile", 0))
        self.extractor = extractor
        self.tokens = self.tokenize()
        self.forwards = []  # (program, inputs, B, T, real rows): what encode() runs, on the same inputs
        for rows in extractor._batches(self.tokens.ids, self.batch_size):
            B, T, inputs = extractor.batch_inputs([self.tokens.ids[i] for i in rows],
                                                  [self.tokens.token_type_ids[i] for i in rows])
            self.forwards.append((await extractor._program(extractor.normalized, B, T), inputs, B, T, len(rows)))
        for _ in range(self.warmup):
            await self.encode()
        return self

    def tokenize(self):
        return self.extractor.model.tokenizer.encode_batch(list(self.texts), max_length=self.extractor.max_length,
                                                           padding=False, truncation=True)

    async def encode(self):
        return await self.extractor.encode(self.texts, batch_size=self.batch_size)


async def forward_parts(forwards) -> dict:
    """One pass over the forwards cut into their parts (ms, summed over forwards): write + encode + submit
    (host), wait for the GPU, read back."""
    out = {"host": 0.0, "wait": 0.0, "readback": 0.0}
    for prog, inputs, *_ in forwards:
        t0 = time.perf_counter()
        prog.write_inputs(inputs)
        _replay(prog._ops)
        out["host"] += _ms(t0)
        t0 = time.perf_counter()
        await _idle()
        out["wait"] += _ms(t0)
        t0 = time.perf_counter()
        for t in prog.plan.outputs.values():
            await prog.read(t)
        out["readback"] += _ms(t0)
    return out


async def case(extractor, args: dict) -> dict:
    """Time one input set (see the module docstring). args: case, repeat, batch_size, reps, warmup, profile."""
    c = await Case.prepare(extractor, args)
    texts, batch_size, reps, profile_runs, tokens, forwards = c.texts, c.batch_size, c.reps, c.profile_runs, c.tokens, c.forwards
    tokenize, be = c.tokenize, extractor.backend

    e2e, tok_ms, fwd, host, wait, readback, gpu = [], [], [], [], [], [], []
    for _ in range(reps):
        await _idle()
        t0 = time.perf_counter()
        await extractor.encode(texts, batch_size=batch_size)
        e2e.append(_ms(t0))
        t0 = time.perf_counter()
        tokenize()
        tok_ms.append(_ms(t0))
        t0 = time.perf_counter()
        for prog, inputs, *_ in forwards:
            await prog.run(inputs)
        fwd.append(_ms(t0))
        parts = await forward_parts(forwards)
        host.append(parts["host"])
        wait.append(parts["wait"])
        readback.append(parts["readback"])
        if be.device.has_timestamps:
            g = 0.0
            for prog, inputs, *_ in forwards:
                g += await prog.gpu_time_ms(inputs)
            gpu.append(g)

    loop_n = max(3, reps)  # back-to-back loops: the mean is finer than one coarsened clock reading
    await _idle()
    t0 = time.perf_counter()
    for _ in range(loop_n):
        for prog, inputs, *_ in forwards:
            await prog.run(inputs)
    fwd_loop = _ms(t0) / loop_n
    t0 = time.perf_counter()
    for _ in range(loop_n):
        await extractor.encode(texts, batch_size=batch_size)
    e2e_loop = _ms(t0) / loop_n
    # host time of the replay alone (encode + submit, no GPU wait), called from JS in a loop
    replay_js_ms = 0.0
    for prog, _, B, T, _ in forwards:
        replay_js_ms += webgpu.glue.timeReplay(prog._ops, 20 if B * T <= 4096 else 3)
        await _idle()

    dispatches = sum(len(p.dispatches) for p, *_ in forwards)
    out = {"case": args["case"], "texts": len(texts), "batch_size": batch_size,
           "forwards": [{"B": B, "T": T, "rows": n, "dispatches": len(p.dispatches)} for p, _, B, T, n in forwards],
           "tokens": sum(len(ids) for ids in tokens.ids), "dispatches": dispatches,
           "e2e": _stats(e2e), "e2e_loop_mean_ms": round(e2e_loop, 3), "tokenize": _stats(tok_ms),
           "forward": _stats(fwd), "forward_loop_mean_ms": round(fwd_loop, 3),
           "host_write_encode_submit": _stats(host), "wait_gpu": _stats(wait), "readback": _stats(readback),
           "replay_host_ms_js_loop": round(replay_js_ms, 4),
           "replay_host_us_per_dispatch": round(replay_js_ms * 1e3 / dispatches, 3)}
    for key, src in (("e2e", e2e_loop), ("forward", fwd_loop)):
        out[f"{key}_sentences_per_s"] = round(len(texts) / (src / 1e3), 1) if src > 0 else None
    if gpu:
        g = median(gpu)
        out["gpu"] = _stats(gpu)
        out["gpu_us_per_dispatch"] = round(g * 1e3 / dispatches, 3)
        out["gpu_sentences_per_s"] = round(len(texts) / (g / 1e3), 1) if g > 0 else None
    else:
        out["gpu"] = None
        out["note"] = "no 'timestamp-query' on this device: GPU times not measured"
    if profile_runs > 0 and be.device.has_timestamps:
        infos, ns = [], []
        for prog, inputs, *_ in forwards:
            prog.write_inputs(inputs)
            samples = [await be.device.profile(prog._ops, per_dispatch=True) for _ in range(profile_runs)]
            infos += prog.dispatch_infos()
            ns += gpu_profile.per_dispatch_median(samples)
        out["profile"] = {**gpu_profile.aggregate(infos, ns), "runs": profile_runs}
    elif profile_runs > 0:
        out["profile"] = {"note": "no 'timestamp-query' on this device: no GPU time per kernel family"}
    return out


async def run(args: dict, extractor) -> dict:
    name = getattr(extractor.backend, "name", "?")
    if name == "wasm":   # the CPU kernels: their own probes (cpu_probe), same keys where they mean the same
        from . import cpu_probe

        probes = {"describe": cpu_probe.describe, "case": cpu_probe.case}
    elif name == "webgpu":
        probes = {"describe": describe, "case": case}
    else:
        raise ValueError(f"the bench probes time the WebGPU or the CPU backend, but this page runs {name!r}")
    what = args.get("what")
    if what == "describe":
        return await probes["describe"](extractor)
    if what == "case":
        return await probes["case"](extractor, args)
    if what == "idle":   # both backends: latency after the page sat still (idle_probe)
        from . import idle_probe

        return await idle_probe.after_idle(extractor, args)
    raise ValueError(f"unknown bench probe {what!r}; expected describe, case or idle")
