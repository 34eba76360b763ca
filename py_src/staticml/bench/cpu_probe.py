"""The in-worker half of the benchmark page on the CPU backend (the WebAssembly SIMD kernels); the WebGPU
backend's is gpu_probe. Same probes and the same `case` keys where they mean the same thing:

- `describe`: the kernel build and threads (CpuBackend.describe()), the pipeline's stats, the model;
- `case`: one benchmark input set at a batch size, timed at three depths, medians over `reps`:
    e2e_ms       texts -> embeddings as Python lists, in the worker (pure-Python tokenizer included)
    tokenize_ms  the tokenizer alone
    forward_ms   token ids -> embeddings bytes: write inputs, one replay of the kernel calls, read outputs
  plus the forwards the batch became (exact shapes: rows of one length run together, see
  FeatureExtraction._batches), and with profile > 0 the time per op / kernel / matmul shape with GFLOP/s
  (each kernel call timed in site/cpu_plan.js, per-call medians over `profile` replays).
"""
import time

from ..runtime import profile
from .gpu_probe import Case, _ms, _stats


async def describe(extractor) -> dict:
    return {**extractor.backend.describe(), "pipeline_stats": dict(extractor.stats),
            "model": {"dtype": extractor.model.dtype, "max_length": extractor.max_length}}


async def case(extractor, args: dict) -> dict:
    """Time one input set (see the module docstring). args: case, repeat, batch_size, reps, warmup, profile."""
    c = await Case.prepare(extractor, args)
    texts, forwards = c.texts, c.forwards
    e2e, tok_ms, fwd = [], [], []
    for _ in range(c.reps):
        t0 = time.perf_counter()
        await c.encode()
        e2e.append(_ms(t0))
        t0 = time.perf_counter()
        c.tokenize()
        tok_ms.append(_ms(t0))
        t0 = time.perf_counter()
        for prog, inputs, *_ in forwards:
            await prog.run(inputs)
        fwd.append(_ms(t0))
    out = {"case": args["case"], "texts": len(texts), "batch_size": c.batch_size,
           "forwards": [{"B": B, "T": T, "rows": n, "calls": len(p.calls)} for p, _, B, T, n in forwards],
           "tokens": sum(len(ids) for ids in c.tokens.ids), "padded_tokens": sum(B * T for _, _, B, T, _ in forwards),
           "dispatches": sum(len(p.calls) for p, *_ in forwards),   # kernel calls, gpu_probe's name for them
           "e2e": _stats(e2e), "tokenize": _stats(tok_ms), "forward": _stats(fwd), "gpu": None}
    if c.profile_runs > 0:
        infos, ns = [], []
        for prog, inputs, *_ in forwards:
            infos += prog.dispatch_infos()
            ns += prog.call_times_ns(inputs, c.profile_runs)
        out["profile"] = {**profile.aggregate(infos, ns), "runs": c.profile_runs}
    return out
