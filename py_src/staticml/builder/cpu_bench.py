"""Benchmark of the CPU (WebAssembly SIMD) matmul kernels in headless Chromium, next to numpy on the
same machine. A script, not a test: prints a table and writes JSON.
"ms" is the fastest run (the machine's capability when nothing else competes for the cores; the shared
2-core machines this was written on are rarely idle), "median_ms" the median; GFLOP/s come from "ms".

    python -m staticml.builder.cpu_bench [--json out.json] [--seconds 0.5]

Each configuration (SIMD128 / relaxed SIMD x 1 / 2 threads) runs in a fresh page served with
COOP/COEP by the product's own server (threads need a cross-origin-isolated page), after a warm-up
(V8 keeps optimising hot wasm for a while).
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

# MiniLM-L6 linear layers at batch 2 x 128 tokens: FFN up, FFN down, the QKV/out projections.
SHAPES = [(256, 384, 1536), (256, 1536, 384), (256, 384, 384), (8, 384, 1536)]
DTYPES = ["f32", "f16", "q8", "q8dyn", "q4"]   # q8dyn: q8 weights, int8 activations
CONFIGS = [("simd128", 1), ("relaxed", 1), ("simd128", 2), ("relaxed", 2)]
# (batch, tokens) of the targets: one short sentence, batch 8 and 32 of short ones, one ~250-token passage
ENCODER = [(1, 8), (8, 16), (32, 16), (1, 256)]

PAGE = """<!doctype html><meta charset="utf-8"><title>staticml cpu bench</title>
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
// MiniLM-L6's 6 encoder layers (C=384, 12 heads of 32, FFN 1536) on B x T tokens with random weights:
// the kernel calls a model makes, without Python in between (its per-call cost is measured elsewhere).
function encoderRun(B, T, dtype) {
  const C = 384, H = 12, D = 32, F = 1536, M = B * T, layers = [];
  const lin = (N, K) => {
    if (dtype === "f32") return {w: put(f32(N * K, -0.05, 0.05)), s: 0, b: put(f32(N, -0.1, 0.1))};
    return {w: put(randomBytes(N * K)), s: put(f32(N, 0.0003, 0.0005)), b: put(f32(N, -0.1, 0.1))};
  };
  const mm = (x, l, res, out, K, N, act) => {
    if (dtype === "f32") cpu.matmulF32(x, l.w, l.b, res, out, M, K, N, act);
    else if (dtype === "q8") cpu.matmulQ8(x, l.w, l.s, l.b, res, out, M, K, N, act);
    else cpu.matmulQ8Dynamic(x, l.w, l.s, l.b, res, out, M, K, N, act);
  };
  for (let i = 0; i < 6; i++) layers.push({qkv: lin(3 * C, C), o: lin(C, C), up: lin(F, C), down: lin(C, F),
    g1: put(f32(C, 0.9, 1.1)), b1: put(f32(C, -0.1, 0.1)), g2: put(f32(C, 0.9, 1.1)), b2: put(f32(C, -0.1, 0.1))});
  const x = put(f32(M * C, -1, 1)), qkv = cpu.alloc(4 * M * 3 * C), att = cpu.alloc(4 * M * C), h = cpu.alloc(4 * M * C);
  const ff = cpu.alloc(4 * M * F), pooled = cpu.alloc(4 * B * C), ones = put(new Float32Array(B * T).fill(1));
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
window.result = (async () => {
  const info = JSON.parse(await cpu.init(JSON.stringify(URLS), q.get("variant"), +q.get("threads")));
  const seconds = +q.get("seconds"), rows = [];
  for (const [M, K, N] of JSON.parse(q.get("shapes"))) {
    for (const dtype of JSON.parse(q.get("dtypes"))) {
      const m = cpu.mark();
      const x = put(f32(M * K, -1, 1)), bias = put(f32(N, -1, 1)), out = cpu.alloc(4 * M * N);
      let run;
      if (dtype === "f32") { const w = put(f32(N * K, -0.1, 0.1)); run = () => cpu.matmulF32(x, w, bias, 0, out, M, K, N, 0); }
      if (dtype === "f16") { const w = put(new Uint16Array(N * K).map(() => 0x2000 + (Math.random() * 0x1000 | 0))); run = () => cpu.matmulF16(x, w, bias, 0, out, M, K, N, 0); }
      if (dtype === "q8") { const w = put(randomBytes(N * K)), s = put(f32(N, 0.001, 0.002)); run = () => cpu.matmulQ8(x, w, s, bias, 0, out, M, K, N, 0); }
      if (dtype === "q8dyn") { const w = put(randomBytes(N * K)), s = put(f32(N, 0.001, 0.002)); run = () => cpu.matmulQ8Dynamic(x, w, s, bias, 0, out, M, K, N, 0); }
      if (dtype === "q4") { const w = put(randomBytes(N * K / 2)), s = put(f32(N * K / 32, 0.001, 0.002)); run = () => cpu.matmulQ4(x, w, s, bias, 0, out, M, K, N, 0); }
      const t0 = performance.now();
      while (performance.now() - t0 < 1000 * seconds) run();   // warm-up: tier-up and caches
      const times = [];
      const t1 = performance.now();
      while (performance.now() - t1 < 1000 * seconds || times.length < 5) { const s = performance.now(); run(); times.push(performance.now() - s); }
      times.sort((a, b) => a - b);
      const ms = times[0], median = times[times.length >> 1];
      rows.push({M, K, N, dtype, ms, median_ms: median, gflops: 2 * M * K * N / ms / 1e6, runs: times.length});
      cpu.reset(m);
    }
  }
  const encoder = [];
  for (const [B, T] of JSON.parse(q.get("encoder") || "[]")) {
    for (const dtype of ["f32", "q8", "q8dyn"]) {
      const m = cpu.mark(), r = encoderRun(B, T, dtype);
      const t0 = performance.now();
      while (performance.now() - t0 < 1000 * seconds) r();
      const times = [];
      const t1 = performance.now();
      while (performance.now() - t1 < 1000 * seconds || times.length < 3) { const s = performance.now(); r(); times.push(performance.now() - s); }
      times.sort((a, b) => a - b);
      encoder.push({B, T, dtype, ms: times[0], median_ms: times[times.length >> 1], runs: times.length});
      cpu.reset(m);
    }
  }
  return {info, rows, encoder, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency, isolated: self.crossOriginIsolated};
})();
</script>
"""


def write_page(root: Path) -> None:
    build_wasm(root, cache_dir=REPO / "build" / "wasm-cache")
    shutil.copyfile(REPO / "site" / "cpu_glue.js", root / "cpu_glue.js")
    (root / "index.html").write_text(PAGE)
    (root / "_headers").write_text(cloudflare_headers(rules(cross_origin_isolated=True)))


def make_driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("STATICML_CHROMIUM", "/usr/bin/chromium")
    for flag in ["--headless=new", "--no-sandbox", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='staticml-bench-')}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(os.environ.get("STATICML_CHROMEDRIVER", "/usr/bin/chromedriver")))
    driver.set_script_timeout(600)
    return driver


def run_page(driver, url: str):
    driver.get(url)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.result.then(v => done({ok: true, value: v}), e => done({ok: false, error: String(e && e.message || e)}));")
    if not result["ok"]:
        raise RuntimeError(f"benchmark page failed: {result['error']}")
    return result["value"]


def numpy_rows(shapes, seconds: float):
    import numpy as np

    rows = []
    rng = np.random.default_rng(0)
    for M, K, N in shapes:
        x = rng.uniform(-1, 1, (M, K)).astype(np.float32)
        w = rng.uniform(-0.1, 0.1, (N, K)).astype(np.float32)
        b = rng.uniform(-1, 1, N).astype(np.float32)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            x @ w.T + b
        times = []
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < seconds or len(times) < 5:
            s = time.perf_counter()
            x @ w.T + b
            times.append(time.perf_counter() - s)
        ms, median = 1000 * min(times), 1000 * statistics.median(times)
        rows.append({"M": M, "K": K, "N": N, "dtype": "f32", "ms": ms, "median_ms": median,
                     "gflops": 2 * M * K * N / ms / 1e6, "runs": len(times)})
    return rows


def torch_rows(shapes, seconds: float):
    """PyTorch CPU running the real all-MiniLM-L6-v2 encoder (+ mean pooling) on the same B x T tokens."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer

        from .cpu_q8_accuracy import model_dir
    except ImportError as e:
        return [{"error": f"PyTorch reference skipped: {e}"}]
    model = SentenceTransformer(str(model_dir()), device="cpu")
    bert = model[0].auto_model.eval()
    rows = []
    for B, T in shapes:
        ids = torch.randint(1000, 20000, (B, T))
        mask = torch.ones(B, T, dtype=torch.long)

        def run():
            with torch.inference_mode():
                out = bert(input_ids=ids, attention_mask=mask).last_hidden_state
                torch.nn.functional.normalize(out.mean(dim=1), dim=1)

        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            run()
        times = []
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < seconds or len(times) < 3:
            s = time.perf_counter()
            run()
            times.append(time.perf_counter() - s)
        rows.append({"B": B, "T": T, "ms": 1000 * min(times), "median_ms": 1000 * statistics.median(times),
                     "threads": torch.get_num_threads()})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=REPO / "build" / "cpu_bench.json")
    ap.add_argument("--seconds", type=float, default=0.5, help="warm-up and measuring time per row")
    ap.add_argument("--dtypes", default=",".join(DTYPES))
    args = ap.parse_args(argv)
    dtypes = args.dtypes.split(",")
    report = {"numpy": numpy_rows(SHAPES, args.seconds), "torch": torch_rows(ENCODER, args.seconds), "wasm": []}
    with tempfile.TemporaryDirectory() as tmp:
        write_page(Path(tmp))
        server = make_server(Path(tmp), 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        driver = make_driver()
        try:
            for variant, threads in CONFIGS:
                query = (f"?variant={variant}&threads={threads}&seconds={args.seconds}"
                         f"&shapes={json.dumps(SHAPES)}&dtypes={json.dumps(dtypes)}&encoder={json.dumps(ENCODER)}")
                driver.get("about:blank")
                out = run_page(driver, base + query.replace(" ", ""))
                report["wasm"].append({"variant": variant, "threads_asked": threads, **out})
        finally:
            driver.quit()
            server.shutdown()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"\nJSON: {args.json}")
    return 0


def table(report) -> str:
    lines = [f"{'backend':<28}{'dtype':<6}{'M x K x N':<18}{'best ms':>9}{'GFLOP/s':>10}{'median ms':>11}"]
    for r in report["numpy"]:
        lines.append(f"{'numpy (native)':<28}{r['dtype']:<6}{'%dx%dx%d' % (r['M'], r['K'], r['N']):<18}{r['ms']:>9.3f}{r['gflops']:>10.1f}{r['median_ms']:>11.3f}")
    for cfg in report["wasm"]:
        info = cfg["info"]
        name = f"wasm {info['variant']} x{info['threads']}"
        for r in cfg["rows"]:
            lines.append(f"{name:<28}{r['dtype']:<6}{'%dx%dx%d' % (r['M'], r['K'], r['N']):<18}{r['ms']:>9.3f}{r['gflops']:>10.1f}"
                         f"{r['median_ms']:>11.3f}")
    lines.append("")
    lines.append(f"{'MiniLM-L6 encoder (6 layers)':<34}{'B x T':<10}{'best ms':>9}{'median ms':>11}{'GFLOP/s':>9}")
    def flops(B, T):   # the linear layers only: 2 * tokens * 6 layers * (4 C^2 + 2 C F)
        return 2 * B * T * 6 * (4 * 384 * 384 + 2 * 384 * 1536)
    for r in report.get("torch", []):
        if "error" in r:
            lines.append(r["error"])
            continue
        lines.append(f"{'pytorch x%d' % r['threads']:<34}{'%dx%d' % (r['B'], r['T']):<10}{r['ms']:>9.2f}{r['median_ms']:>11.2f}"
                     f"{flops(r['B'], r['T']) / r['ms'] / 1e6:>9.1f}")
    for cfg in report["wasm"]:
        info = cfg["info"]
        for r in cfg.get("encoder", []):
            name = f"wasm {info['variant']} x{info['threads']} {r['dtype']}"
            lines.append(f"{name:<34}{'%dx%d' % (r['B'], r['T']):<10}{r['ms']:>9.2f}{r['median_ms']:>11.2f}"
                         f"{flops(r['B'], r['T']) / r['ms'] / 1e6:>9.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
