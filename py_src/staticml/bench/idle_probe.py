"""Latency after idle: what one embedding costs when the page sat still before it, stage by stage.

A visitor's query arrives after seconds of typing, not back to back with the last one; a GPU that clocked
down, a CPU core that went to sleep, a worker thread the OS descheduled all show up there and nowhere in a
back-to-back benchmark. This probe (site/bench.js with `idle=`, `probe=1`) sleeps `gap` ms before every
measurement, interleaving the gaps so drift hits all of them alike, and times in the worker:

    e2e        extractor.encode(texts) (tokenizer, inputs, forwards, pooling: what embed() runs)
    tokenize   the tokenizer alone
    forward    the forwards on prepared inputs; on WebGPU cut into
      host       write inputs + encode + submit (the one replay call)
      wait       until the GPU reports the work done (queue.onSubmittedWorkDone)
      readback   copying the outputs back (a second submit + mapAsync)
    gpu        GPU time of the same replay from two timestamps, after its own sleep (WebGPU with
               `timestamp-query` only): whether the GPU itself runs slower after idle

e2e, the stages and gpu are three separate sleeps and runs: each is a first run after idle. Medians per gap.
"""
import asyncio
import time

from .gpu_probe import Case, _ms, _stats, forward_parts

DEFAULT_GAPS_MS = (0, 100, 500, 2000)


def gaps_of(args: dict) -> list:
    gaps = [float(g) for g in args.get("gaps", DEFAULT_GAPS_MS)]
    if not gaps or any(g < 0 or g > 60_000 for g in gaps):
        raise ValueError(f"idle gaps must be 0..60000 ms, got {gaps}")
    return gaps


async def _forward_stages(c: Case, on_gpu: bool) -> dict:
    """One pass over the case's forwards, timed by stage (WebGPU) or whole (CPU): {stage: ms}."""
    if not on_gpu:
        t0 = time.perf_counter()
        for prog, inputs, *_ in c.forwards:
            await prog.run(inputs)
        return {"forward": _ms(t0)}
    t0 = time.perf_counter()
    out = await forward_parts(c.forwards)
    out["forward"] = _ms(t0)
    return out


async def after_idle(extractor, args: dict) -> dict:
    """args: case, batch_size, reps, warmup (as gpu_probe.case) and gaps (ms; default 0, 100, 500, 2000)."""
    gaps = gaps_of(args)
    c = await Case.prepare(extractor, args)
    be = extractor.backend
    on_gpu = getattr(be, "name", "") == "webgpu"
    timestamps = on_gpu and be.device.has_timestamps
    samples = {g: {} for g in gaps}

    def add(g, stage, ms):
        samples[g].setdefault(stage, []).append(ms)

    for _ in range(c.reps):
        for g in gaps:
            await asyncio.sleep(g / 1e3)
            t0 = time.perf_counter()
            await c.encode()
            add(g, "e2e", _ms(t0))
            await asyncio.sleep(g / 1e3)
            t0 = time.perf_counter()
            c.tokenize()
            add(g, "tokenize", _ms(t0))
            for stage, ms in (await _forward_stages(c, on_gpu)).items():
                add(g, stage, ms)
            if timestamps:
                await asyncio.sleep(g / 1e3)
                ms = 0.0
                for prog, inputs, *_ in c.forwards:
                    ms += await prog.gpu_time_ms(inputs)
                add(g, "gpu", ms)
    return {"case": args["case"], "texts": len(c.texts), "backend": getattr(be, "name", "?"),
            "forwards": [{"B": B, "T": T, "rows": n} for _, _, B, T, n in c.forwards],
            "gaps_ms": gaps, "reps": c.reps,
            "by_gap": {str(int(g) if g == int(g) else g): {stage: _stats(v) for stage, v in s.items()}
                       for g, s in samples.items()},
            "note": None if timestamps or not on_gpu else "no 'timestamp-query' on this device: GPU times not measured"}
