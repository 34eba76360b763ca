"""Benchmark of the CPU (WebAssembly SIMD) kernels in headless Chromium, next to numpy and PyTorch on the
same machine. A script, not a test: prints tables and writes JSON.

    python -m staticml.builder.cpu_bench [--repeats 3] [--seconds 0.5] [--json out.json] [--quick]

1. Matmul kernels: GFLOP/s per weight dtype x build (SIMD128 / relaxed SIMD) x threads (1 / 2), next to
   numpy's f32 on the same shapes and numpy's peak (1024^3, all cores: the machine's native ceiling).
2. MiniLM-L6's 6 encoder layers (the kernel calls a model makes, no Python in between; random weights)
   on the issue's inputs (one short sentence 1x8, batches 8x16 and 32x16, a 256-token passage) in f32 and
   q8p, next to PyTorch (sentence-transformers' all-MiniLM-L6-v2 forward + mean pooling + normalize) on the
   same B x T with the same thread count.

The machines this runs on are shared, so every measurement is repeated: each repeat measures PyTorch
and then opens a fresh page per (build, threads) and measures the wasm side right after it. A cell's
"best" is its fastest sample (what the code does when it gets the cores), "median" its median sample;
the tables give the median over repeats of both, and the ratios are taken per repeat, then their median.
Each page is served with COOP/COEP by the product's own server (threads need cross-origin isolation)
and warms up first (V8 keeps optimising hot wasm for a while).
"""
import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from .headers import cloudflare_headers, rules
from .serve import make_server
from .wasm_kernels import REPO, build_wasm

# MiniLM-L6 linear layers at batch 2 x 128 tokens (FFN up, FFN down, QKV, out), one short sentence's FFN up
SHAPES = [(256, 384, 1536), (256, 1536, 384), (256, 384, 1152), (256, 384, 384), (8, 384, 1536)]
DTYPES = ["f32", "q8p", "q8", "q8dyn", "f16", "q4"]   # q8: weight-only; q8dyn: int8 activations
# also accepted by --dtypes (and bench/cpu_thread_scaling.py): q8x7 / q8x7f, x rounded to 7 bits for the relaxed int8
# dot split into three ops / fused into one (matmul_q8x7.c); q8x7mix / q8x7fmix, the same but the encoder's FFN
# output Linear on q8p (the accurate scheme: shaders/README.md)
KNOWN_DTYPES = DTYPES + ["q8x7", "q8x7f", "q8x7mix", "q8x7fmix"]
CONFIGS = [("relaxed", 1), ("relaxed", 2), ("simd128", 1), ("simd128", 2)]
# (batch, tokens) of the targets: one short sentence, batches of 8 and 32 short ones, a ~250-token passage
ENCODER = [(1, 8), (8, 16), (32, 16), (1, 256)]
ENCODER_DTYPES = ["f32", "q8p"]
NATIVE_PEAK_SHAPE = (1024, 1024, 1024)
# numpy's f32 matmul on these machines' 2 idle cores (AVX2 + FMA; ENV.md): the % column's reference. The run
# also measures numpy at NATIVE_PEAK_SHAPE, which says how busy the machine was.
NATIVE_PEAK_GFLOPS = 180.0

# The page's module up to its main: cpu_glue, random data, weights in each layout, linear(), the encoder,
# measure(). Other pages (bench/cpu_cuts.py) add their own main.
PAGE_HELPERS = """<!doctype html><meta charset="utf-8"><title>staticml cpu bench</title>
<script type="module">
import * as cpu from "./cpu_glue.js";
const q = new URLSearchParams(location.search);
const URLS = {"simd128": "kernels-simd128.wasm", "relaxed": "kernels-relaxed.wasm",
  "simd128-threads": "kernels-simd128-threads.wasm", "relaxed-threads": "kernels-relaxed-threads.wasm"};
function randomBytes(n) {  // crypto.getRandomValues fills at most 64 KiB per call
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}
function f32(n, lo, hi) { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * Math.random(); return a; }
function put(arr) { const p = cpu.alloc(arr.byteLength); cpu.write(p, arr); return p; }
// A Linear weight [N, K] in `dtype`'s layout (staticml.cpu.layout) with its scales; values ~ +-0.05.
function weight(dtype, N, K) {
  if (dtype === "f32") return {w: put(f32(N * K, -0.05, 0.05)), s: 0};
  if (dtype === "f16") return {w: put(new Uint16Array(N * K).map(() => 0x2000 + (Math.random() * 0x1000 | 0))), s: 0};
  if (dtype === "q4") return {w: put(randomBytes(N * K / 2)), s: put(f32(N * K / 32, 0.005, 0.01))};
  const raw = put(randomBytes(N * K)), s = put(f32(N, 0.0003, 0.0005));
  if (dtype.startsWith("q8x7")) {   // panels, then an int32 sum per column (staticml.cpu.layout "q8x7")
    const w = cpu.alloc((((K + 7) & ~7) + 4) * 8 * Math.ceil(N / 8)); cpu.packQ8x7(raw, w, N, K);
    return {w, s, smooth: dtype.endsWith("mix") ? put(f32(K, 0.5, 2)) : 0};   // the accurate scheme smooths x
  }
  if (dtype !== "q8p") return {w: raw, s};
  const w = cpu.alloc(N * K); cpu.packQ8(raw, w, N, K); return {w, s};
}
function linear(dtype, x, l, bias, res, out, M, K, N, act) {
  if (dtype === "f32") cpu.matmulF32(x, l.w, bias, res, out, M, K, N, act);
  else if (dtype === "f16") cpu.matmulF16(x, l.w, bias, res, out, M, K, N, act);
  else if (dtype === "q4") cpu.matmulQ4(x, l.w, l.s, bias, res, out, M, K, N, act);
  else if (dtype === "q8p") cpu.matmulQ8p(x, l.w, l.s, bias, res, out, M, K, N, act);
  else if (dtype === "q8") cpu.matmulQ8(x, l.w, l.s, bias, res, out, M, K, N, act);
  else if (dtype.startsWith("q8x7")) cpu.matmulQ8x7(x, l.w, l.s, bias, res, out, M, K, N, act, dtype.startsWith("q8x7f") ? 1 : 0, l.smooth);
  else cpu.matmulQ8Dynamic(x, l.w, l.s, bias, res, out, M, K, N, act);
}
// MiniLM-L6's 6 encoder layers (C=384, 12 heads of 32, FFN 1536) on B x T tokens, then mean pooling and
// L2 normalization: the kernel calls a model makes, without Python in between.
function encoderRun(B, T, dtype) {
  const C = 384, H = 12, D = 32, F = 1536, M = B * T, layers = [];
  // q8x7mix / q8x7fmix: the FFN's output Linear (GELU's output, which 7-bit x does not hold well) on q8p
  const lin = (N, K, d = dtype) => ({...weight(d, N, K), b: put(f32(N, -0.1, 0.1)), d});
  for (let i = 0; i < 6; i++) layers.push({qkv: lin(3 * C, C), o: lin(C, C), up: lin(F, C), down: lin(C, F, dtype.endsWith("mix") ? "q8p" : dtype),
    g1: put(f32(C, 0.9, 1.1)), b1: put(f32(C, -0.1, 0.1)), g2: put(f32(C, 0.9, 1.1)), b2: put(f32(C, -0.1, 0.1))});
  const x = put(f32(M * C, -1, 1)), qkv = cpu.alloc(4 * M * 3 * C), att = cpu.alloc(4 * M * C), h = cpu.alloc(4 * M * C);
  const ff = cpu.alloc(4 * M * F), pooled = cpu.alloc(4 * B * C), ones = put(new Float32Array(B * T).fill(1));
  const mm = (xp, l, res, out, K, N, act) => linear(l.d, xp, l, l.b, res, out, M, K, N, act);
  return () => {
    for (const L of layers) {
      mm(x, L.qkv, 0, qkv, C, 3 * C, 0);
      cpu.attention(qkv, qkv + 4 * C, qkv + 8 * C, att, ones, B, T, T, H, H, D, 0, 1 / Math.sqrt(D), T * 3 * C, 3 * C, D, T * 3 * C, 3 * C, D, T * 3 * C, 3 * C, D);
      mm(att, L.o, x, h, C, C, 0);
      cpu.layerNorm(h, L.g1, L.b1, h, M, C, 1e-12);
      mm(h, L.up, 0, ff, C, F, 1);
      mm(ff, L.down, h, x, F, C, 0);
      cpu.layerNorm(x, L.g2, L.b2, x, M, C, 1e-12);
    }
    cpu.meanPool(x, ones, pooled, B, T, C);
    cpu.l2Normalize(pooled, pooled, B, C, 1e-12);
  };
}
function measure(run, seconds, minRuns) {
  const t0 = performance.now();
  while (performance.now() - t0 < 1000 * seconds) run();   // warm-up: tier-up and caches
  const times = [];
  const t1 = performance.now();
  while (performance.now() - t1 < 1000 * seconds || times.length < minRuns) { const s = performance.now(); run(); times.push(performance.now() - s); }
  times.sort((a, b) => a - b);
  return {ms: times[0], median_ms: times[times.length >> 1], runs: times.length};
}
"""
PAGE = PAGE_HELPERS + """window.result = (async () => {
  const info = JSON.parse(await cpu.init(JSON.stringify(URLS), q.get("variant"), +q.get("threads")));
  const seconds = +q.get("seconds"), rows = [], encoder = [];
  for (const [M, K, N] of JSON.parse(q.get("shapes"))) {
    for (const dtype of JSON.parse(q.get("dtypes"))) {
      const m = cpu.mark();
      const x = put(f32(M * K, -1, 1)), bias = put(f32(N, -1, 1)), out = cpu.alloc(4 * M * N), l = weight(dtype, N, K);
      const t = measure(() => linear(dtype, x, l, bias, 0, out, M, K, N, 0), seconds, 5);
      rows.push({M, K, N, dtype, ...t, gflops: 2 * M * K * N / t.ms / 1e6});
      cpu.reset(m);
    }
  }
  for (const [B, T] of JSON.parse(q.get("encoder"))) {
    for (const dtype of JSON.parse(q.get("encoder_dtypes"))) {
      const m = cpu.mark();
      encoder.push({B, T, dtype, ...measure(encoderRun(B, T, dtype), seconds, 5)});
      cpu.reset(m);
    }
  }
  return {info, rows, encoder, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency, isolated: self.crossOriginIsolated};
})();
</script>
"""


def write_page(root: Path, page: str | None = None) -> None:
    """The kernels, cpu_glue.js and the page (this benchmark's by default) into a folder to serve."""
    build_wasm(root, cache_dir=REPO / "build" / "wasm-cache")
    shutil.copyfile(REPO / "site" / "cpu_glue.js", root / "cpu_glue.js")
    (root / "index.html").write_text(page or PAGE)
    (root / "_headers").write_text(cloudflare_headers(rules(cross_origin_isolated=True)))


def make_driver():
    """Headless Chromium without WebGPU, in a temporary profile that `quit()` deletes."""
    from ..bench import harness_chromium

    return harness_chromium().make_driver(webgpu=False)


def run_page(driver, url: str):
    driver.get(url)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.result.then(v => done({ok: true, value: v}), e => done({ok: false, error: String(e && e.message || e)}));")
    if not result["ok"]:
        raise RuntimeError(f"benchmark page failed: {result['error']}")
    return result["value"]


def _timed(fn, seconds: float, min_runs: int) -> dict:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
    times = []
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < seconds or len(times) < min_runs:
        s = time.perf_counter()
        fn()
        times.append(time.perf_counter() - s)
    return {"ms": 1000 * min(times), "median_ms": 1000 * statistics.median(times), "runs": len(times)}


def numpy_rows(shapes, seconds: float):
    import numpy as np

    rows = []
    rng = np.random.default_rng(0)
    for M, K, N in shapes:
        x = rng.uniform(-1, 1, (M, K)).astype(np.float32)
        w = rng.uniform(-0.1, 0.1, (N, K)).astype(np.float32)
        b = rng.uniform(-1, 1, N).astype(np.float32)
        t = _timed(lambda: x @ w.T + b, seconds, 5)
        rows.append({"M": M, "K": K, "N": N, "dtype": "f32", **t, "gflops": 2 * M * K * N / t["ms"] / 1e6})
    return rows


class TorchEncoder:
    """PyTorch CPU running the real all-MiniLM-L6-v2 encoder (+ mean pooling + normalize) on B x T tokens."""

    def __init__(self):
        import torch
        from sentence_transformers import SentenceTransformer

        from .cpu_q8_accuracy import model_dir

        self.torch = torch
        self.bert = SentenceTransformer(str(model_dir()), device="cpu")[0].auto_model.eval()

    def rows(self, shapes, threads: int, seconds: float):
        torch = self.torch
        torch.set_num_threads(threads)
        rows = []
        for B, T in shapes:
            ids = torch.randint(1000, 20000, (B, T))
            mask = torch.ones(B, T, dtype=torch.long)

            def run():
                with torch.inference_mode():
                    out = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
                    torch.nn.functional.normalize(out.mean(dim=1), dim=1)

            rows.append({"B": B, "T": T, "threads": threads, **_timed(run, seconds, 5)})
        return rows


def encoder_flops(B, T):   # the linear layers only: 2 * tokens * 6 layers * (4 C^2 + 2 C F)
    return 2 * B * T * 6 * (4 * 384 * 384 + 2 * 384 * 1536)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=REPO / "build" / "cpu_bench.json")
    ap.add_argument("--seconds", type=float, default=0.5, help="warm-up and measuring time per cell")
    ap.add_argument("--repeats", type=int, default=3, help="whole-benchmark repeats (medians are over these)")
    ap.add_argument("--dtypes", default=",".join(DTYPES), help="matmul table dtypes")
    ap.add_argument("--quick", action="store_true", help="relaxed SIMD only, f32 and q8p matmuls")
    args = ap.parse_args(argv)
    dtypes = ["f32", "q8p"] if args.quick else args.dtypes.split(",")
    unknown = [d for d in dtypes if d not in KNOWN_DTYPES]
    if unknown:   # the page's linear() would run them as q8dyn
        ap.error(f"unknown matmul dtype(s) {', '.join(unknown)}: use {', '.join(KNOWN_DTYPES)}")
    configs = [c for c in CONFIGS if c[0] == "relaxed"] if args.quick else CONFIGS
    try:
        torch_enc = TorchEncoder()
    except ImportError as e:
        torch_enc, torch_error = None, f"PyTorch reference skipped: {e}"
    report = {"repeats": []}
    with tempfile.TemporaryDirectory() as tmp:
        write_page(Path(tmp))
        server = make_server(Path(tmp), 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        driver = make_driver()
        try:
            for r in range(args.repeats):
                rep = {"loadavg_before": os.getloadavg(), "numpy": numpy_rows(SHAPES, args.seconds),
                       "numpy_peak": numpy_rows([NATIVE_PEAK_SHAPE], args.seconds)[0], "torch": [], "wasm": []}
                for variant, threads in configs:
                    if torch_enc is not None and variant == "relaxed":   # right before the pages it is compared with
                        rep["torch"] += torch_enc.rows(ENCODER, threads, args.seconds)
                    query = (f"?variant={variant}&threads={threads}&seconds={args.seconds}&shapes={json.dumps(SHAPES)}"
                             f"&dtypes={json.dumps(dtypes)}&encoder={json.dumps(ENCODER)}"
                             f"&encoder_dtypes={json.dumps(ENCODER_DTYPES)}")
                    driver.get("about:blank")
                    out = run_page(driver, base + query.replace(" ", ""))
                    rep["wasm"].append({"variant": variant, "threads_asked": threads, **out})
                rep["loadavg_after"] = os.getloadavg()
                report["repeats"].append(rep)
                print(f"repeat {r + 1}/{args.repeats} done", flush=True)
        finally:
            driver.quit()
            server.shutdown()
    if torch_enc is None:
        report["torch_error"] = torch_error
    report["summary"] = summarize(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"\nJSON: {args.json}")
    return 0


def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(report) -> dict:
    """Medians over repeats: matmul cells, encoder cells, and the issue's ratios (per repeat, then median)."""
    reps = report["repeats"]
    cells, enc, torch = {}, {}, {}
    for rep in reps:
        for cfg in rep["wasm"]:
            name = f"{cfg['info']['variant']} x{cfg['info']['threads']}"
            for row in cfg["rows"]:
                cells.setdefault((name, row["dtype"], row["M"], row["K"], row["N"]), []).append(row)
            for row in cfg["encoder"]:
                enc.setdefault((cfg["info"]["variant"].removesuffix("-threads"), cfg["info"]["threads"], row["dtype"],
                                row["B"], row["T"]), []).append(row)
        for row in rep["numpy"]:
            cells.setdefault(("numpy (native)", "f32", row["M"], row["K"], row["N"]), []).append(row)
        for row in rep["torch"]:
            torch.setdefault((row["threads"], row["B"], row["T"]), []).append(row)
    out = {"native_peak_gflops": _med([rep["numpy_peak"]["gflops"] for rep in reps]), "matmul": [], "encoder": [],
           "torch": [], "targets": []}
    for (name, dtype, M, K, N), rows in cells.items():
        out["matmul"].append({"config": name, "dtype": dtype, "M": M, "K": K, "N": N,
                              "ms": _med([r["ms"] for r in rows]), "median_ms": _med([r["median_ms"] for r in rows]),
                              "gflops": _med([r["gflops"] for r in rows])})
    for (variant, threads, dtype, B, T), rows in enc.items():
        out["encoder"].append({"variant": variant, "threads": threads, "dtype": dtype, "B": B, "T": T,
                               "ms": _med([r["ms"] for r in rows]), "median_ms": _med([r["median_ms"] for r in rows])})
    for (threads, B, T), rows in torch.items():
        out["torch"].append({"threads": threads, "B": B, "T": T, "ms": _med([r["ms"] for r in rows]),
                             "median_ms": _med([r["median_ms"] for r in rows])})

    def per_repeat(rep, variant, threads, dtype, B, T, key):
        for cfg in rep["wasm"]:
            if cfg["info"]["variant"].removesuffix("-threads") == variant and cfg["info"]["threads"] == threads:
                for row in cfg["encoder"]:
                    if (row["dtype"], row["B"], row["T"]) == (dtype, B, T):
                        return row[key]
        return None

    def torch_ms(rep, threads, B, T, key):
        return next((r[key] for r in rep["torch"] if (r["threads"], r["B"], r["T"]) == (threads, B, T)), None)

    def target(what, key, pairs, goal, ok):
        """pairs: (numerator, denominator) per repeat -> paired ratios, their median, and the ratio of medians"""
        pairs = [(a, b) for a, b in pairs if a is not None and b]
        if not pairs:
            return
        paired = _med([a / b for a, b in pairs])
        out["targets"].append({"what": what, "by": key, "value": paired, "per_repeat": [a / b for a, b in pairs],
                               "ratio_of_medians": _med([a for a, _ in pairs]) / _med([b for _, b in pairs]),
                               "target": goal, "met": ok(paired)})

    for threads in (2, 1):
        for B, T in ENCODER:
            allow = 3.0 if (B, T) == (1, 8) else 0.0   # one short sentence: <= 1.5x PyTorch + 3 ms
            for key in ("ms", "median_ms"):
                target(f"f32 / PyTorch, {B}x{T}, {threads} thread(s)" + (" (minus 3 ms)" if allow else ""), key,
                       [((w - allow) if (w := per_repeat(rep, "relaxed", threads, "f32", B, T, key)) is not None else None,
                         torch_ms(rep, threads, B, T, key)) for rep in reps], "<= 1.5", lambda v: v <= 1.5)
        for key in ("ms", "median_ms"):
            target(f"q8p speedup over f32, 32x16, {threads} thread(s)", key,
                   [(per_repeat(rep, "relaxed", threads, "f32", 32, 16, key), per_repeat(rep, "relaxed", threads, "q8p", 32, 16, key))
                    for rep in reps], ">= 1.5", lambda v: v >= 1.5)
    return out


def table(report) -> str:
    s = report["summary"]
    peak = NATIVE_PEAK_GFLOPS
    loads = [f"{rep['loadavg_before'][0]:.1f}/{rep['loadavg_after'][0]:.1f}" for rep in report["repeats"]]
    lines = [f"Medians over {len(report['repeats'])} repeats (1-min load average before/after each: {', '.join(loads)}).",
             f"% peak: of numpy's {peak:.0f} GFLOP/s on the idle machine (ENV.md); numpy "
             f"{'x'.join(map(str, NATIVE_PEAK_SHAPE))} in this run: {s['native_peak_gflops']:.0f} GFLOP/s.", "",
             f"{'config':<22}{'dtype':<7}{'M x K x N':<16}{'best ms':>9}{'median ms':>11}{'GFLOP/s':>9}{'% peak':>8}"]
    for r in sorted(s["matmul"], key=lambda r: (r["M"], r["K"], r["N"], r["config"] != "numpy (native)", r["config"], DTYPES.index(r["dtype"]) if r["dtype"] in DTYPES else 0)):
        lines.append(f"{r['config']:<22}{r['dtype']:<7}{'%dx%dx%d' % (r['M'], r['K'], r['N']):<16}{r['ms']:>9.3f}"
                     f"{r['median_ms']:>11.3f}{r['gflops']:>9.1f}{100 * r['gflops'] / peak:>7.0f}%")
    lines += ["", f"{'MiniLM-L6 encoder (6 layers)':<32}{'B x T':<9}{'best ms':>9}{'median ms':>11}{'GFLOP/s':>9}"]
    rows = [(f"pytorch x{r['threads']}", r) for r in s["torch"]]
    rows += [(f"wasm {r['variant']} x{r['threads']} {r['dtype']}", r) for r in s["encoder"]]
    for name, r in sorted(rows, key=lambda nr: (ENCODER.index((nr[1]["B"], nr[1]["T"])), -nr[1]["threads"], nr[0])):
        lines.append(f"{name:<32}{'%dx%d' % (r['B'], r['T']):<9}{r['ms']:>9.2f}{r['median_ms']:>11.2f}"
                     f"{encoder_flops(r['B'], r['T']) / r['ms'] / 1e6:>9.1f}")
    if "torch_error" in report:
        lines.append(report["torch_error"])
    lines += ["", "Targets: ratio per repeat (PyTorch and wasm measured back to back), their median, and the ratio of the",
              "medians over repeats; 'ms' = best samples, 'median_ms' = median samples:"]
    for t in s["targets"]:
        lines.append(f"  {t['what']:<48} by {t['by']:<10} {t['value']:6.2f} (" + " ".join(f"{v:.2f}" for v in t["per_repeat"])
                     + f"; of medians {t['ratio_of_medians']:.2f})  target {t['target']:<7} {'met' if t['met'] else 'NOT met'}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
