"""`python build.py bench`: the semantic-search demo in fresh headless Chromium profiles, next to
sentence-transformers on PyTorch CPU on the same inputs, in the same run. Prints JSON, then a table.

Per built dtype and backend (WebGPU, and the WebAssembly SIMD CPU kernels on 1 and on 2 threads: the
site is built cross-origin isolated so the kernels may share memory across threads): cold start (empty
profile) to the first embedding, bytes the server sent on that first visit, then median / p90 latency of
1 short sentence, batch 8, batch 32 and a ~250-token passage (site/bench.js, inputs from
staticml.bench_inputs); then a warm start offline (same profile, DevTools offline) to the first
embedding. Every row says which backend, adapter and kernel build ran it.
"""
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from .. import bench_inputs
from ..builder.serve import SiteHandler, make_server

REPO = Path(__file__).resolve().parents[3]
CASES = {"short_1": [bench_inputs.SHORT], "batch_8": bench_inputs.BATCH_8, "batch_32": bench_inputs.BATCH_32,
         "passage_250": [bench_inputs.PASSAGE_250]}
# the rows per dtype: (label, query parameters)
BACKENDS = {"webgpu": "backend=webgpu", "wasm-1t": "backend=wasm&threads=1", "wasm-2t": "backend=wasm&threads=2"}
# untimed embeddings per case before the timed ones: V8 first runs wasm on its baseline compiler and
# optimises hot functions on background threads (the kernels, and Pyodide's interpreter), which for the
# first few seconds also take a core from the kernels' second thread; SwiftShader's WebGPU needs no more
# than one (a batch of 32 takes ~40 s there)
WARMUP = {"webgpu": 1, "wasm-1t": 8, "wasm-2t": 8}


class CountingHandler(SiteHandler):
    """Counts the body bytes the server sends: what a first visit really downloads."""
    sent = 0
    lock = threading.Lock()

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data)
        with CountingHandler.lock:
            CountingHandler.sent += len(data)


def _chromium():
    sys.path.insert(0, str(REPO / "tests"))
    from harness import chromium

    return chromium


def _page(chromium, url: str, profile: str, offline: bool = False) -> dict:
    driver = chromium.make_driver(user_data_dir=profile)
    try:
        if offline:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                        "downloadThroughput": -1, "uploadThroughput": -1})
        driver.get(url)
        return chromium.await_js(driver, "window.staticmlBench")
    finally:
        driver.quit()


def browser_rows(site: Path, dtypes, reps: int, log, backends=tuple(BACKENDS)) -> list[dict]:
    chromium = _chromium()
    rows = []
    server = make_server(site, 0, quiet=True, handler_base=CountingHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/bench.html"
    try:
        for dtype, label in ((d, b) for d in dtypes for b in backends):
            profile = tempfile.mkdtemp(prefix="staticml-bench-")
            CountingHandler.sent = 0
            query = f"dtype={dtype}&{BACKENDS[label]}"
            log(f"{dtype} on {label}: cold start in an empty profile, then {WARMUP[label]} untimed and {reps} timed "
                f"runs per case")
            cold = _page(chromium, f"{base}?{query}&reps={reps}&warmup={WARMUP[label]}", profile)
            if "error" in cold:
                raise RuntimeError(f"bench page failed for {dtype} on {label}: {cold['error']}")
            sent = CountingHandler.sent
            # Once more online (the service worker takes control), then offline from the same profile.
            _page(chromium, f"{base}?{query}&cases=", profile)
            log(f"{dtype} on {label}: warm start offline")
            warm = _page(chromium, f"{base}?{query}&cases=", profile, offline=True)
            info = cold["info"]
            rows.append({"dtype": dtype, "row": label, "backend": info["backend"], "adapter": info["adapter"],
                         "cpu": info.get("cpu") if info["backend"] == "wasm" else None,
                         "cold_first_embedding_ms": cold["first_embedding_ms"],
                         "warm_offline_first_embedding_ms": warm.get("first_embedding_ms"),
                         "first_visit_bytes": sent, "latency": cold["latency"]})
    finally:
        server.shutdown()
        server.server_close()
    return rows


def torch_rows(reps: int, log, threads=(1, 2)) -> dict:
    """sentence-transformers `encode` per case at each thread count: {threads: row}."""
    import torch
    from sentence_transformers import SentenceTransformer

    from ..builder.models import model_cache

    model = SentenceTransformer(str(model_cache().default_model_folder()), device="cpu")
    rows = {}
    for n in threads:
        log(f"sentence-transformers on PyTorch CPU, {n} thread(s), same inputs")
        torch.set_num_threads(n)
        out = {}
        for name, texts in CASES.items():
            model.encode(texts, normalize_embeddings=True)                 # warm-up
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                model.encode(texts, normalize_embeddings=True, batch_size=32)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            out[name] = {"median_ms": round(statistics.median(times), 2),
                         "p90_ms": round(times[min(len(times) - 1, int(0.9 * len(times)))], 2), "n": reps}
        rows[n] = {"backend": f"pytorch {torch.__version__} cpu, {n} thread(s)", "threads": n, "latency": out}
    return rows


def fastest(a: dict, b: dict) -> dict:
    """Per case, the run with the lower median: PyTorch measured before and after the browser rows (this
    machine is shared; the ratios then compare against PyTorch at its best)."""
    return {**a, "latency": {k: min(a["latency"][k], b["latency"][k], key=lambda v: v["median_ms"])
                             for k in a["latency"]}}


def run(dtypes=("f32", "q8"), reps: int = 3, log=print, backends=tuple(BACKENDS)) -> dict:
    from ..builder.site import BuildOptions, build

    before = torch_rows(max(reps, 5), log)
    with tempfile.TemporaryDirectory() as tmp:
        site = build(BuildOptions(out=Path(tmp) / "dist", demo_dtypes=tuple(dtypes), cross_origin_isolated=True,
                                  log=log))
        rows = browser_rows(site, dtypes, reps, log, backends)
    after = torch_rows(max(reps, 5), log)
    refs = {n: fastest(before[n], after[n]) for n in before}
    for row in rows:
        # CPU rows against PyTorch on as many threads; WebGPU against PyTorch on every core
        ref = refs[row["cpu"]["threads"]] if row.get("cpu") else refs[max(refs)]
        row["pytorch_threads"] = ref["threads"]
        row["vs_pytorch"] = {k: round(v["median_ms"] / ref["latency"][k]["median_ms"], 2)
                             for k, v in row["latency"].items()}
    by = {(r["dtype"], r["row"]): r for r in rows}
    q8_speedup = {label: {k: round(by["f32", label]["latency"][k]["median_ms"] / by["q8", label]["latency"][k]["median_ms"], 2)
                          for k in CASES}
                  for label in backends if ("f32", label) in by and ("q8", label) in by}
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "browser": rows,
            "pytorch": [refs[n] for n in sorted(refs)], "pytorch_runs": {"before": before, "after": after},
            "q8_speedup_over_f32": q8_speedup}


def table(r: dict) -> str:
    lines = ["| dtype | backend (adapter) | cold → 1st embedding | warm offline → 1st | first-visit MiB | "
             "short 1 | batch 8 | batch 32 | ~250 tokens |", "|---|---|---|---|---|---|---|---|---|"]
    for row in r["browser"]:
        lat = row["latency"]
        cells = [f"{lat[k]['median_ms']:.0f} / {lat[k]['p90_ms']:.0f} ms ({row['vs_pytorch'][k]}×)" for k in CASES]
        a, cpu = row["adapter"], row.get("cpu")
        where = (f"wasm {cpu['variant']}, {cpu['threads']} thread(s)" if cpu else
                 f"{row['backend']} ({a.get('architecture') or a.get('vendor')})")
        lines.append(f"| {row['dtype']} | {where} | "
                     f"{row['cold_first_embedding_ms'] / 1000:.1f} s | "
                     f"{(row['warm_offline_first_embedding_ms'] or 0) / 1000:.1f} s | "
                     f"{row['first_visit_bytes'] / 2**20:.1f} | " + " | ".join(cells) + " |")
    for ref in r["pytorch"]:
        lat = ref["latency"]
        lines.append(f"| — | {ref['backend']} | | | | " +
                     " | ".join(f"{lat[k]['median_ms']:.1f} / {lat[k]['p90_ms']:.1f} ms" for k in CASES) + " |")
    lines.append("latency cells: median / p90 (browser ÷ PyTorch on as many threads; WebGPU ÷ PyTorch on all cores)")
    for label, sp in r.get("q8_speedup_over_f32", {}).items():
        lines.append(f"q8 speed-up over f32 on {label}: " + ", ".join(f"{k} {v}×" for k, v in sp.items()))
    return "\n".join(lines)


def main(dtypes=("f32", "q8"), reps: int = 3, backends=tuple(BACKENDS)) -> int:
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        raise ValueError(f"unknown bench backends {sorted(unknown)}: use {', '.join(BACKENDS)}")
    result = run(dtypes, reps, log=lambda *a: print(*a, file=sys.stderr, flush=True), backends=backends)
    print(json.dumps(result, indent=2))
    print(table(result))
    return 0
