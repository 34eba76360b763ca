"""Do a batch's cuts cost more than one run? MiniLM's 36 linears (6 layers x Q, K, V, O, up, down; distinct random
weights) over the tokens of the bench's batch of 32 as the 4 runs `feature_extraction.exact_cuts` makes (M = 96,
176, 160, 216) against one run over all 648 tokens, in headless Chromium on the CPU kernels, f32 and q8p, A and B
interleaved; prints JSON and a table. The question behind it: would packing every token of a batch into one run
(attention per sequence) be faster on the CPU? (README, "Backends".)

    python bench/cpu_cuts.py [--threads 1,2] [--reps 15]
"""
import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py_src"))

from staticml.builder import cpu_bench  # noqa: E402
from staticml.builder.serve import make_server  # noqa: E402

CUTS = [96, 176, 160, 216]   # the bench's batch_32 as exact_cuts runs it (bench.html's probe lists them)
C, F = 384, 1536

MAIN = """window.result = (async () => {
  const info = JSON.parse(await cpu.init(JSON.stringify(URLS), q.get("variant"), +q.get("threads")));
  const C = __C__, F = __F__, cuts = JSON.parse(q.get("cuts")), all = cuts.reduce((a, b) => a + b), reps = +q.get("reps"), out = {info};
  for (const dtype of ["f32", "q8p"]) {
    const m = cpu.mark(), layers = [];
    for (let i = 0; i < 6; i++)
      layers.push([[C, C], [C, C], [C, C], [C, C], [F, C], [C, F]].map(([N, K]) => ({N, K, ...weight(dtype, N, K), b: put(f32(N, -0.1, 0.1))})));
    const x = put(f32(all * F, -1, 1)), y = cpu.alloc(4 * all * F);
    const run = (M) => { for (const L of layers) for (const l of L) linear(dtype, x, l, l.b, 0, y, M, l.K, l.N, 0); };
    const A = () => { for (const M of cuts) run(M); }, B = () => run(all);
    for (let i = 0; i < 5; i++) { A(); B(); }   // warm-up: V8 tiers the kernels up
    const a = [], b = [];
    for (let i = 0; i < reps; i++) {
      let t = performance.now(); A(); a.push(performance.now() - t);
      t = performance.now(); B(); b.push(performance.now() - t);
    }
    out[dtype] = {cuts_ms: a, one_run_ms: b};
    cpu.reset(m);
  }
  return out;
})();
</script>
""".replace("__C__", str(C)).replace("__F__", str(F))


def _median(v):
    s = sorted(v)
    return s[len(s) // 2]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="thread counts, comma-separated (more than 1: the threaded build)")
    ap.add_argument("--reps", type=int, default=15, help="A/B pairs per dtype")
    args = ap.parse_args(argv)
    flops = 2 * sum(CUTS) * 6 * (4 * C * C + 2 * C * F)
    report = {"cuts": CUTS, "linear_gflop": flops / 1e9, "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        cpu_bench.write_page(Path(tmp), cpu_bench.PAGE_HELPERS + MAIN)
        server = make_server(Path(tmp), 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        driver = cpu_bench.make_driver()
        try:
            for threads in (int(t) for t in args.threads.split(",")):
                variant = "relaxed-threads" if threads > 1 else "relaxed"
                driver.get("about:blank")
                out = cpu_bench.run_page(driver, f"http://127.0.0.1:{server.server_address[1]}/index.html?variant={variant}"
                                                 f"&threads={threads}&reps={args.reps}&cuts={json.dumps(CUTS).replace(' ', '')}")
                for dtype in ("f32", "q8p"):
                    a, b = out[dtype]["cuts_ms"], out[dtype]["one_run_ms"]
                    report["rows"].append({"threads": out["info"]["threads"], "dtype": dtype, "cuts_median_ms": _median(a),
                                           "one_run_median_ms": _median(b),
                                           "cuts_over_one_run": _median([x / y for x, y in zip(a, b)]), "cuts_ms": a,
                                           "one_run_ms": b})
        finally:
            driver.quit()
            server.shutdown()
    print(json.dumps(report))
    print(f"\n{'threads':<8}{'dtype':<6}{'4 runs (ms)':>12}{'1 run (ms)':>12}{'GFLOP/s':>9}{'4 runs / 1 run':>16}")
    for r in report["rows"]:
        print(f"{r['threads']:<8}{r['dtype']:<6}{r['cuts_median_ms']:>12.1f}{r['one_run_median_ms']:>12.1f}"
              f"{flops / r['one_run_median_ms'] / 1e6:>9.0f}{r['cuts_over_one_run']:>16.3f}")
    print("(4 runs / 1 run: the median of the per-pair ratios; each pair ran back to back)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
