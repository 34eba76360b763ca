"""`python build.py bench ops`: kernel throughput and per-dispatch host overhead in real headless Chromium.

Builds the site into a temporary folder with one extra page (bench-ops.html) that boots Pyodide and
the staticml wheel on the main thread, serves it with the product's server, drives it through the
test harness' Chromium (tests/harness/chromium.py), prints JSON and then a table.
Numbers are from whatever adapter Chromium gives (SwiftShader on a machine without a GPU).
"""
import contextlib
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import harness_chromium

PAGE = """<!doctype html><meta charset="utf-8"><title>staticml ops benchmark</title>
<script type="module">
const AUTO_ARGS = __AUTO_ARGS__;
try {
  const html = await (await fetch("./index.html")).text();
  const config = JSON.parse(new DOMParser().parseFromString(html, "text/html")
    .getElementById("staticml-config").textContent);
  const worker = await (await fetch(config.worker)).text();
  const gluePath = worker.match(/from "(\\.\\/[^"]*gpu_glue[^"]*\\.js)"/)[1];  // relative to the worker
  const glue = await import(new URL(gluePath, new URL(config.worker, location.href)).href);
  const { loadPyodide } = await import(config.pyodideIndex + "pyodide.mjs");
  const abs = (u) => new URL(u, location.href).href;
  const pyodide = await loadPyodide({ indexURL: abs(config.pyodideIndex), lockFileURL: abs(config.lockfile) });
  const errors = [];
  await pyodide.loadPackage(config.packages, { messageCallback: () => {}, errorCallback: (m) => errors.push(m) });
  if (errors.length) throw new Error("could not load the staticml wheel: " + errors.join("; "));
  pyodide.registerJsModule("staticml_glue", glue);
  const page = pyodide.pyimport("staticml.bench.ops_page");
  window.bench = async (section, args) => JSON.parse(await page[section](JSON.stringify(args)));
  window.benchReady = true;
} catch (e) { window.benchError = String(e && e.stack || e); }
// Unattended (the GPU kit's page_runner): ?report=PATH&sections=host_overhead,matmul_throughput[&<section>=<JSON args>]
// runs those sections with AUTO_ARGS (or the given JSON) and POSTs {adapter, <section>: rows | {error}} to PATH.
const q = new URLSearchParams(location.search);
if (q.get("report")) {
  const out = { user_agent: navigator.userAgent };
  if (window.benchError) out.error = window.benchError;
  else {
    out.adapter = await window.bench("adapter", {});
    for (const s of (q.get("sections") || "host_overhead").split(",").filter(Boolean)) {
      try { out[s] = await window.bench(s, q.has(s) ? JSON.parse(q.get(s)) : AUTO_ARGS[s]); }
      catch (e) { out[s] = { error: String(e && e.message || e) }; }
      fetch("/__log", { method: "POST", body: `${s}: ${JSON.stringify(out[s]).slice(0, 300)}` }).catch(() => {});
    }
  }
  await fetch(q.get("report"), { method: "POST", body: JSON.stringify(out) });
}
</script>
"""

MATMUL_SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (128, 384, 1536)]
DTYPES = ["f32", "f16", "q8", "q4"]
# what an unattended run of the page does per section (the same arguments run() passes)
AUTO_ARGS = {"host_overhead": {"dispatches": 200, "reps": 40, "inner": 100},
             "matmul_throughput": {"shapes": MATMUL_SHAPES, "dtypes": DTYPES}, "tiled_vs_naive": {"size": 512}}
PAGE = PAGE.replace("__AUTO_ARGS__", json.dumps(AUTO_ARGS))

READY = """new Promise((resolve, reject) => { const t = setInterval(() => {
  if (window.benchReady) { clearInterval(t); resolve(true); }
  if (window.benchError) { clearInterval(t); reject(new Error(window.benchError)); } }, 100); })"""

SECTIONS = ("matmul", "host_overhead", "tiled_vs_naive")


@contextlib.contextmanager
def ops_page(tmp: Path, chromium):
    """The site with bench-ops.html built into `tmp`, served by the product's server and open in a fresh
    headless Chromium (chromium: tests/harness/chromium.py) until its wheel is loaded; yields
    call(section, args) -> the section's result (run() below, tests/browser/test_bench_ops_page.py)."""
    from ..builder.serve import make_server
    from ..builder.site import BuildOptions, build

    static = tmp / "static"
    static.mkdir()
    (static / "bench-ops.html").write_text(PAGE)
    root = build(BuildOptions(out=tmp / "dist", static_dir=static, log=lambda *_: None))
    server = make_server(root, 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = chromium.make_driver()   # its script timeout (600 s) covers the slowest section
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/bench-ops.html")
        chromium.await_js(driver, READY)
        yield lambda section, args: chromium.await_js(driver, f"window.bench({json.dumps(section)}, {json.dumps(args)})")
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def run(quick: bool = False, log=print, only=SECTIONS) -> dict:
    with tempfile.TemporaryDirectory(prefix="staticml-bench-") as tmp, ops_page(Path(tmp), harness_chromium()) as call:
        result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "adapter": call("adapter", {})}
        log("adapter:", result["adapter"].get("architecture"), result["adapter"].get("description"))
        shapes = MATMUL_SHAPES[:2] if quick else MATMUL_SHAPES
        if "matmul" in only:
            result["matmul"] = call("matmul_throughput", {"shapes": shapes, "dtypes": DTYPES})
        if "host_overhead" in only:
            result["host_overhead"] = call("host_overhead", AUTO_ARGS["host_overhead"])
        if "tiled_vs_naive" in only:
            result["tiled_vs_naive"] = call("tiled_vs_naive", {"size": 256 if quick else 512})
    return result


def table(r: dict) -> str:
    a = r["adapter"]
    lines = [f"ops benchmark, {r['date']}, adapter: {a.get('architecture') or '?'} / {a.get('description') or '?'}"
             f" (fallback={a.get('isFallbackAdapter')}, shader-f16={'shader-f16' in a.get('features', [])})", "",
             f"{'weights':<8}{'M x K x N':>18}{'ms':>10}{'GFLOP/s':>10}  kernel"]
    for row in r.get("matmul", []):
        lines.append(f"{row['dtype']:<8}{row['M']:>6} x{row['K']:>5} x{row['N']:>5}{row['ms']:>10}{row['gflops']:>10}  {row['kernel']}")
    h = r.get("host_overhead")
    lines += [] if not h else ["", f"host overhead per dispatch, {h['dispatches']}-dispatch plan ({h['reps']} reps):",
              f"  plan replay (1 FFI call, 1 submit)   {h['plan_replay_us_per_dispatch']:>8} us",
              f"  same replay, called from JS          {h['replay_from_js_us_per_dispatch']:>8} us",
              f"  plain JS loop (same dispatches)      {h['js_loop_us_per_dispatch']:>8} us",
              f"  1 FFI call per dispatch from Python  {h['python_ffi_per_dispatch_us_per_dispatch']:>8} us",
              f"  plan / JS = {h['plan_vs_js']}x medians, {h.get('plan_vs_js_paired_median')}x paired median, "
              f"{h.get('plan_vs_js_best')}x best samples (target <= 1.2x)",
              f"  per-dispatch FFI / plan = {h['ffi_vs_plan']}x",
              f"  GPU time per near-empty dispatch (one pass, timestamps): {h.get('gpu_us_per_dispatch_one_pass')} us",
              f"  empty submit -> onSubmittedWorkDone {h.get('empty_submit_roundtrip_ms')} ms, "
              f"256-byte read back {h.get('readback_256B_roundtrip_ms')} ms", ""]
    lines.append("f32 matmul kernels on the same adapter:")
    for row in r.get("tiled_vs_naive", []):
        if "kernel" in row:
            lines.append(f"  {row['kernel']:<30}{row['size']:>5}^3 {row['ms']:>9} ms {row['gflops']:>8} GFLOP/s")
        else:
            lines.append(f"  best linear ({row['best']}) vs naive: {row['speedup_linear_vs_naive']}x (target >= 3x)")
    return "\n".join(lines)


def main(quick: bool = False, only=SECTIONS) -> int:
    result = run(quick, log=lambda *a: print(*a, file=sys.stderr), only=only)
    print(json.dumps(result, indent=2))
    print(table(result))
    return 0
