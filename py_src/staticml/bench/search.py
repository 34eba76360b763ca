"""`python build.py bench`: the semantic-search demo in fresh headless Chromium profiles, next to
sentence-transformers on PyTorch CPU on the same inputs, in the same run. Prints JSON, then a table.

Per backend (WebGPU, and the WebAssembly SIMD CPU kernels on 1 and on 2 threads: the site is built
cross-origin isolated so the kernels may share memory across threads), one page per built dtype is opened
in an empty profile (cold start to the first embedding, bytes the server sent on that first visit) and
kept open. Latency is then measured in rounds, because this kind of machine is shared and its speed
drifts by up to 2x over minutes: per round and case (1 short sentence, batch 8, batch 32, a ~250-token
passage; inputs from staticml.bench_inputs) PyTorch on as many threads runs `reps` times, then each
dtype's page runs `embed()` `reps` times, then PyTorch again. A ratio is taken per round from that round's
medians (browser / the mean of PyTorch's two, so a steady drift cancels; f32 / q8); the table gives the
median over rounds. Last, each page's profile is
visited once more online and then offline (DevTools offline) for the warm start. Every row says which
backend, adapter and kernel build ran it.
"""
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from .. import bench_inputs
from . import harness_chromium
from ..builder.serve import SiteHandler, make_server

CASES = {"short_1": [bench_inputs.SHORT], "batch_8": bench_inputs.BATCH_8, "batch_32": bench_inputs.BATCH_32,
         "passage_250": [bench_inputs.PASSAGE_250]}
# the rows per dtype: (label, query parameters)
BACKENDS = {"webgpu": "backend=webgpu", "wasm-1t": "backend=wasm&threads=1", "wasm-2t": "backend=wasm&threads=2"}
# untimed embeddings per case before the first round: V8 first runs wasm on its baseline compiler and
# optimises hot functions on background threads (the kernels, and Pyodide's interpreter), which for the
# first few seconds also take a core from the kernels' second thread; SwiftShader's WebGPU needs no more
# than one (a batch of 32 takes ~40 s there)
WARMUP = {"webgpu": 1, "wasm-1t": 8, "wasm-2t": 8}
ROUNDS = {"webgpu": 1, "wasm-1t": 7, "wasm-2t": 7}
THREADS = {"webgpu": None, "wasm-1t": 1, "wasm-2t": 2}   # PyTorch's threads per row (None: all cores)
# OpenMP worker threads spin-wait for a while after a parallel region before they sleep (the runtime's
# block time: microseconds to 200 ms, by runtime and settings); PyTorch's must not take the cores from the
# page that runs next, so wait this long in between
OMP_SETTLE_S = 0.5


class CountingHandler(SiteHandler):
    """Counts the body bytes the server sends: what a first visit really downloads."""
    sent = 0
    lock = threading.Lock()

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data)
        with CountingHandler.lock:
            CountingHandler.sent += len(data)


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


# n timed embed() calls of the given texts after `warm` untimed ones, in the page: milliseconds
EMBED_TIMES = """
const [texts, n, warm] = arguments, done = arguments[arguments.length - 1];
(async () => {
  for (let i = 0; i < warm; i++) await window.staticml.embed(texts);
  const ms = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await window.staticml.embed(texts); ms.push(performance.now() - t); }
  return ms;
})().then(done, (e) => done({error: String(e && e.message || e)}));
"""


def _embed_times(driver, texts, n: int, warm: int = 0) -> list:
    out = driver.execute_async_script(EMBED_TIMES, texts, n, warm)
    if isinstance(out, dict):
        raise RuntimeError(f"embed() failed in the bench page: {out['error']}")
    return out


class Torch:
    """sentence-transformers' all-MiniLM-L6-v2 `encode` on PyTorch CPU, timed at a thread count."""

    def __init__(self):
        import torch
        from sentence_transformers import SentenceTransformer

        from ..builder.models import model_cache

        self.torch = torch
        self.all_cores = torch.get_num_threads()
        self.model = SentenceTransformer(str(model_cache().default_model_folder()), device="cpu")

    def label(self, threads) -> str:
        return f"pytorch {self.torch.__version__} cpu, {threads or self.all_cores} thread(s)"

    def times(self, texts, n: int, threads=None) -> list:
        self.torch.set_num_threads(threads or self.all_cores)
        self.model.encode(texts, normalize_embeddings=True, batch_size=32)    # warm-up
        out = []
        for _ in range(n):
            t = time.perf_counter()
            self.model.encode(texts, normalize_embeddings=True, batch_size=32)
            out.append((time.perf_counter() - t) * 1000)
        return out


def _stats(ms: list) -> dict:
    s = sorted(ms)
    return {"median_ms": round(statistics.median(s), 2), "p90_ms": round(s[min(len(s) - 1, int(0.9 * len(s)))], 2),
            "min_ms": round(s[0], 2), "n": len(s)}


def backend_rows(chromium, base: str, label: str, dtypes, reps: int, torch: Torch, log, profiles: Path) -> tuple[list, dict]:
    """The rows of one backend (one per dtype) and the q8 / f32 speed-up per case, measured in rounds; each
    dtype's Chromium profile is a new folder under `profiles`."""
    pages, rows = {}, {}
    try:
        for dtype in dtypes:
            profile = tempfile.mkdtemp(prefix="profile-", dir=profiles)
            query = f"dtype={dtype}&{BACKENDS[label]}"
            log(f"{dtype} on {label}: cold start in an empty profile")
            CountingHandler.sent = 0
            driver = pages[dtype] = chromium.make_driver(user_data_dir=profile)
            driver.get(f"{base}?{query}&cases=")
            cold = chromium.await_js(driver, "window.staticmlBench")
            if "error" in cold:
                raise RuntimeError(f"bench page failed for {dtype} on {label}: {cold['error']}")
            # the demo also loads its search index: count it as part of the first visit, as a visitor's
            chromium.await_js(driver, "window.staticml.search ? window.staticml.search('warm up', 1).then(() => 1) : 1")
            info = cold["info"]
            rows[dtype] = {"dtype": dtype, "row": label, "backend": info["backend"], "adapter": info["adapter"],
                           "cpu": info.get("cpu") if info["backend"] == "wasm" else None, "profile": profile,
                           "query": query, "cold_first_embedding_ms": cold["first_embedding_ms"],
                           "first_visit_bytes": CountingHandler.sent, "pytorch_threads": THREADS[label] or torch.all_cores,
                           "samples": {k: [] for k in CASES}, "pytorch_samples": {k: [] for k in CASES},
                           "ratios": {k: [] for k in CASES}}
        for name, texts in CASES.items():
            for dtype in dtypes:
                _embed_times(pages[dtype], texts, 0, WARMUP[label])
        speedup = {k: [] for k in CASES}
        for r in range(ROUNDS[label]):
            log(f"{label}: round {r + 1} of {ROUNDS[label]} (PyTorch, then {', '.join(dtypes)}; {reps} runs each per case)")
            for name, texts in CASES.items():
                before = torch.times(texts, reps, THREADS[label])
                time.sleep(OMP_SETTLE_S)
                runs = {dtype: _embed_times(pages[dtype], texts, reps) for dtype in dtypes}
                medians = {dtype: statistics.median(ms) for dtype, ms in runs.items()}
                after = torch.times(texts, reps, THREADS[label])   # PyTorch before and after: drift cancels
                time.sleep(OMP_SETTLE_S)
                ref = (statistics.median(before) + statistics.median(after)) / 2
                for dtype in dtypes:
                    row = rows[dtype]
                    row["samples"][name] += runs[dtype]
                    row["pytorch_samples"][name] += before + after
                    row["ratios"][name].append(medians[dtype] / ref)
                if "f32" in medians and "q8" in medians:
                    speedup[name].append(medians["f32"] / medians["q8"])
    finally:
        for driver in pages.values():
            driver.quit()
    out = []
    for dtype, row in rows.items():
        # once more online (the service worker takes control), then offline from the same profile
        _page(chromium, f"{base}?{row['query']}&cases=", row["profile"])
        log(f"{dtype} on {label}: warm start offline")
        warm = _page(chromium, f"{base}?{row['query']}&cases=", row.pop("profile"), offline=True)
        row["warm_offline_first_embedding_ms"] = warm.get("first_embedding_ms")
        row["latency"] = {k: _stats(v) for k, v in row["samples"].items()}
        row["pytorch_latency"] = {k: _stats(v) for k, v in row.pop("pytorch_samples").items()}
        row["vs_pytorch"] = {k: round(statistics.median(v), 2) for k, v in row["ratios"].items()}
        row["ratios"] = {k: [round(x, 3) for x in v] for k, v in row["ratios"].items()}
        row["samples"] = {k: [round(x, 2) for x in v] for k, v in row["samples"].items()}
        out.append(row)
    return out, {k: {"median": round(statistics.median(v), 2), "per_round": [round(x, 3) for x in v]}
                 for k, v in speedup.items() if v}


def run(dtypes=("f32", "q8"), reps: int = 3, log=print, backends=tuple(BACKENDS)) -> dict:
    from ..builder.site import BuildOptions, build

    chromium = harness_chromium()
    log("sentence-transformers on PyTorch CPU: loading")
    torch = Torch()
    rows, speedups = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        site = build(BuildOptions(out=Path(tmp) / "dist", demo_dtypes=tuple(dtypes), cross_origin_isolated=True,
                                  log=log))
        server = make_server(site, 0, quiet=True, handler_base=CountingHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/bench.html"
        try:
            for label in backends:
                got, speedup = backend_rows(chromium, base, label, dtypes, reps, torch, log, Path(tmp))
                rows += got
                if speedup:
                    speedups[label] = speedup
        finally:
            server.shutdown()
            server.server_close()
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "browser": rows,
            "pytorch": {n: torch.label(n) for n in sorted({r["pytorch_threads"] for r in rows})},
            "q8_speedup_over_f32": speedups, "method": __doc__.split("\n\n", 1)[1]}


def table(r: dict) -> str:
    lines = ["| dtype | backend (adapter) | cold → 1st embedding | warm offline → 1st | first-visit MiB | "
             "short 1 | batch 8 | batch 32 | ~250 tokens |", "|---|---|---|---|---|---|---|---|---|"]
    pooled: dict = {}   # PyTorch's samples per thread count, over the rows it was paired with
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
        pooled.setdefault(row["pytorch_threads"], {})[row["dtype"]] = row["pytorch_latency"]
    for threads, by_dtype in sorted(pooled.items()):
        lat = next(iter(by_dtype.values()))
        lines.append(f"| — | {r['pytorch'][threads]} (paired with the rows above) | | | | " +
                     " | ".join(f"{lat[k]['median_ms']:.1f} / {lat[k]['p90_ms']:.1f} ms" for k in CASES) + " |")
    lines.append("latency cells: median / p90 over all rounds (in brackets: browser ÷ PyTorch on as many threads, "
                 "the median of per-round ratios; WebGPU rows ÷ PyTorch on all cores)")
    for label, sp in r.get("q8_speedup_over_f32", {}).items():
        lines.append(f"q8 speed-up over f32 on {label} (median of per-round ratios): " +
                     ", ".join(f"{k} {v['median']}×" for k, v in sp.items()))
    return "\n".join(lines)


def main(dtypes=("f32", "q8"), reps: int = 3, backends=tuple(BACKENDS)) -> int:
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        raise ValueError(f"unknown bench backends {sorted(unknown)}: use {', '.join(BACKENDS)}")
    result = run(dtypes, reps, log=lambda *a: print(*a, file=sys.stderr, flush=True), backends=backends)
    print(json.dumps(result, indent=2))
    print(table(result))
    return 0
