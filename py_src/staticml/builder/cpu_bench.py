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
import time
from pathlib import Path

from .headers import cloudflare_headers, rules
from .serve import make_server
from .wasm_kernels import REPO, build_wasm

# MiniLM-L6 linear layers at batch 2 x 128 tokens: FFN up, FFN down, the QKV/out projections.
SHAPES = [(256, 384, 1536), (256, 1536, 384), (256, 384, 384), (8, 384, 1536)]
DTYPES = ["f32", "f16", "q8", "q8dyn", "q4"]   # q8dyn: q8 weights, int8 activations
CONFIGS = [("simd128", 1), ("relaxed", 1), ("simd128", 2), ("relaxed", 2)]

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
  return {info, rows, userAgent: navigator.userAgent, cores: navigator.hardwareConcurrency, isolated: self.crossOriginIsolated};
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, default=REPO / "build" / "cpu_bench.json")
    ap.add_argument("--seconds", type=float, default=0.5, help="warm-up and measuring time per row")
    ap.add_argument("--dtypes", default=",".join(DTYPES))
    args = ap.parse_args(argv)
    dtypes = args.dtypes.split(",")
    report = {"numpy": numpy_rows(SHAPES, args.seconds), "wasm": []}
    with tempfile.TemporaryDirectory() as tmp:
        write_page(Path(tmp))
        server = make_server(Path(tmp), 0, quiet=True)
        import threading

        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        driver = make_driver()
        try:
            for variant, threads in CONFIGS:
                query = (f"?variant={variant}&threads={threads}&seconds={args.seconds}"
                         f"&shapes={json.dumps(SHAPES)}&dtypes={json.dumps(dtypes)}")
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
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
