"""GPU time per kernel family, per kernel key and per matmul shape, from timestamp queries.

`GPUProgram.profile()` replays a compiled plan with one compute pass per dispatch and a pair of
timestamps around each (glue.profilePlan); this module names each dispatch (`describe`) and sums the
nanoseconds (`aggregate`). Pure Python, so it runs and is tested natively.
"""
from statistics import median


def describe(node, dispatch, family: str) -> dict:
    """What one dispatch is: op, kernel family (the module that encoded it: linear, norm, attention, ...),
    kernel key, workgroups, and for matmuls M, K, N and FLOPs."""
    info = {"op": node.op, "family": family, "key": dispatch.key, "groups": list(dispatch.groups)}
    if node.op == "linear":
        x, w = node.inputs["x"], node.inputs["w"]
        M = x.numel // w.K
        # split-K's second pass (ops/linear.py) adds its time to the linear's, not another linear or its FLOPs
        second = dispatch.entry == "splitk_sum"
        info.update(M=M, K=w.K, N=w.N, weights=w.dtype, flops=0 if second else 2 * M * w.K * w.N)
        if second:
            info["second_pass"] = True
    elif node.op == "matmul":
        a = node.inputs["a"]
        batch = a.shape[0] if a.ndim == 3 else 1
        M, K, N = a.shape[-2], a.shape[-1], node.out.shape[-1]
        info.update(M=M, K=K, N=N, batch=batch, weights="f32", flops=2 * batch * M * K * N)
    return info


def shape_key(info: dict) -> str:
    return f"{info['M']}x{info['K']}x{info['N']} {info['weights']}" + (f" x{info['batch']}" if info.get("batch", 1) > 1 else "")


def per_dispatch_median(samples: list) -> list:
    """samples: one list of per-dispatch nanoseconds per profiled run -> the per-dispatch medians."""
    if not samples:
        return []
    n = len(samples[0])
    if any(len(s) != n for s in samples):
        raise ValueError("profiled runs disagree on the number of dispatches")
    return [median(s[k] for s in samples) for k in range(n)]


def _add(table: dict, name: str, ns: float, flops: int = 0, count: int = 1) -> None:
    row = table.setdefault(name, {"ms": 0.0, "count": 0, "flops": 0})
    row["ms"] += ns / 1e6
    row["count"] += count
    row["flops"] += flops


def _finish(table: dict, total_ms: float) -> dict:
    out = {}
    for name, row in sorted(table.items(), key=lambda kv: -kv[1]["ms"]):
        r = {"ms": round(row["ms"], 4), "count": row["count"],
             "share": round(row["ms"] / total_ms, 4) if total_ms > 0 else None}
        if row["flops"]:
            r["tflops"] = round(row["flops"] / (row["ms"] / 1e3) / 1e12, 3) if row["ms"] > 0 else None
            r["gflops"] = round(row["flops"] / (row["ms"] / 1e3) / 1e9, 1) if row["ms"] > 0 else None   # CPU scale
            r["ms_each"] = round(row["ms"] / row["count"], 4)
        out[name] = r
    return out


def aggregate(infos: list, ns: list) -> dict:
    """infos: describe() per dispatch; ns: GPU nanoseconds per dispatch (same order). Negative or
    missing timestamps (some drivers reorder them) are reported, not hidden."""
    if len(infos) != len(ns):
        raise ValueError(f"{len(ns)} timings for {len(infos)} dispatches")
    fams, keys, shapes = {}, {}, {}
    bad = sum(1 for v in ns if v is None or v < 0)
    total = 0.0
    for info, v in zip(infos, ns):
        v = max(0.0, v or 0.0)
        total += v
        ops = 0 if info.get("second_pass") else 1   # families and shapes count ops; keys count dispatches
        _add(fams, info["family"], v, info.get("flops", 0), ops)
        _add(keys, info["key"], v, info.get("flops", 0))
        if "flops" in info:
            _add(shapes, shape_key(info), v, info["flops"], ops)
    total_ms = total / 1e6
    out = {"dispatches": len(ns), "sum_ms": round(total_ms, 4), "by_family": _finish(fams, total_ms),
           "by_key": _finish(keys, total_ms), "matmul_by_shape": _finish(shapes, total_ms)}
    if bad:
        out["note"] = f"{bad} dispatches had negative or missing timestamps (counted as 0)"
    return out
