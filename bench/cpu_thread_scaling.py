"""How the CPU kernels scale with threads: MiniLM-L6's encoder (the kernel calls a model makes, random weights;
staticml.builder.cpu_bench's encoderRun) on the issue's inputs (1 x 8, 8 x 16, 32 x 16, 1 x 256 tokens), f32 and
q8p (or the weight layouts `--dtypes` names, cpu_bench's `weight()`: e.g. q8dyn, x rounded to 7 bits for the relaxed
int8 dot), at each thread count, in one cross-origin-isolated page in headless Chromium. The question behind it: how
many threads should `?threads=` default to (one per core, capped) on machines with many cores?

    python bench/cpu_thread_scaling.py [--threads 1,2] [--seconds 1] [--dtypes f32,q8p]   here, through Selenium
    python bench/cpu_thread_scaling.py --stage DIR                        a folder to carry to another machine:
    python3 DIR/run.py CHROMIUM OUT_JSON [--threads 1,2,4,8,16] [--dtypes f32,q8p]   there (stdlib only): serves DIR with
                                                                          COOP/COEP, opens the page, writes the JSON

Each thread count gets a fresh kernel instance (cpu_glue.init: new memory, new pool) and, per case, `seconds` of
warm-up and then of runs: `ms` is the fastest run, `median_ms` the median. Prints JSON, then a table of the
fastest runs and the speed-up over one thread (a thread count listed twice, e.g. --threads 1,2,1,2, is measured
twice: the fastest of its runs counts), and with f32 among several dtypes, f32's time over each dtype's, per run
(the dtypes of a case run back to back) and then the median over the runs of a thread count: on a shared machine
that ratio is steadier than either time.
"""
import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "py_src"))

from staticml.builder import cpu_bench  # noqa: E402

CASES = [(1, 8), (8, 16), (32, 16), (1, 256)]
DTYPES = "f32,q8p"   # the default of --dtypes

MAIN = """window.result = (async () => {
  const report = q.get("report"), seconds = +q.get("seconds") || 1, dtypes = (q.get("dtypes") || "__DTYPES__").split(","), out = {rows: [], cores: navigator.hardwareConcurrency,
    isolated: self.crossOriginIsolated, userAgent: navigator.userAgent};
  const log = (s) => report && fetch("/__log", {method: "POST", body: s});
  try {
    const unknown = dtypes.filter((d) => !__KNOWN__.includes(d));
    if (unknown.length) throw new Error(`unknown weight layout(s) ${unknown.join(", ")}: use ${__KNOWN__.join(", ")}`);
    for (const [run, threads] of JSON.parse(q.get("threads")).entries()) {
      const info = JSON.parse(await cpu.init(JSON.stringify(URLS), "auto", threads));
      (out.init = out.init || []).push(info);   // what cpu_glue chose and why (variant, threads, reasons)
      for (const [B, T] of __CASES__) {
        for (const dtype of dtypes) {
          const m = cpu.mark();
          out.rows.push({run, threads: info.threads, variant: info.variant, B, T, dtype, ...measure(encoderRun(B, T, dtype), seconds, 5)});
          cpu.reset(m);
        }
      }
      log(`threads ${threads} done`);
    }
  } catch (e) {
    out.error = String(e && e.message || e);
  }
  if (report) await fetch(report, {method: "POST", body: JSON.stringify(out)});
  return out;
})();
</script>
"""
PAGE = cpu_bench.PAGE_HELPERS + (MAIN.replace("__CASES__", json.dumps(CASES)).replace("__DTYPES__", DTYPES)
                                 .replace("__KNOWN__", json.dumps(cpu_bench.KNOWN_DTYPES)))

# The runner for a machine without this checkout's Python environment: stdlib only.
RUN = r'''"""Serve this folder with COOP/COEP on 127.0.0.1, open index.html in Chromium, write the JSON it POSTs.
usage: python3 run.py CHROMIUM OUT_JSON [--threads 1,2,4,8] [--seconds 1] [--timeout 900] [chromium flags...]"""
import argparse, functools, http.server, json, os, shutil, signal, subprocess, sys, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("chrome"); ap.add_argument("out")
ap.add_argument("--threads", default="1,2,4,8"); ap.add_argument("--seconds", default="1")
ap.add_argument("--timeout", type=float, default=900); ap.add_argument("--dtypes", default="__DTYPES__")
args, flags = ap.parse_known_args()
here, done, result = os.path.dirname(os.path.abspath(__file__)), threading.Event(), {}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript"}

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        self.send_response(204)
        self.end_headers()
        if self.path.startswith("/__log"):
            print("page:", body, flush=True)
        else:
            result.update(json.loads(body))
            done.set()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=here))
threading.Thread(target=server.serve_forever, daemon=True).start()
threads = json.dumps([int(t) for t in args.threads.split(",")])
url = f"http://127.0.0.1:{server.server_address[1]}/index.html?threads={threads}&seconds={args.seconds}&dtypes={args.dtypes}&report=/__report"
profile = tempfile.mkdtemp(prefix="thr-profile-")   # deleted at the end
env = dict(os.environ)
libs = os.path.join(os.path.dirname(os.path.abspath(args.chrome)), "lib")
if os.path.isdir(libs):   # a Chromium unpacked with its own libraries (the device kit's chr/lib) starts only with them
    env["LD_LIBRARY_PATH"] = libs + (os.pathsep + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
proc = subprocess.Popen([args.chrome, "--headless", "--no-sandbox", f"--user-data-dir={profile}",
                         "--no-first-run", "--disable-dev-shm-usage", *flags, url],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
start = time.time()
while not done.wait(0.5):
    if proc.poll() is not None or time.time() - start > args.timeout:
        result["error"] = "chromium exited" if proc.poll() is not None else f"timeout after {args.timeout} s"
        break
if proc.poll() is None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)
shutil.rmtree(profile, ignore_errors=True)
result["nproc"] = os.cpu_count()
try:   # model, and per socket: logical processors ("siblings") and physical cores (SMT when they differ)
    info = {l.split(":", 1)[0].strip(): l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if ":" in l}
    result.update(cpu_model=info.get("model name"), siblings=info.get("siblings"), cpu_cores=info.get("cpu cores"),
                  avx512=" avx512f " in f" {info.get('flags', '')} ", vnni=" avx512_vnni " in f" {info.get('flags', '')} ",
                  avx_vnni=" avx_vnni " in f" {info.get('flags', '')} ")
except OSError:
    pass
json.dump(result, open(args.out, "w"), indent=1)
server.shutdown()
'''


def stage(root: Path) -> Path:
    """The page, the kernels, cpu_glue.js and run.py in `root` (replaced)."""
    shutil.rmtree(root, ignore_errors=True)
    cpu_bench.write_page(root, PAGE)
    (root / "run.py").write_text(RUN.replace("__DTYPES__", DTYPES))
    return root


def table(r: dict) -> str:
    rows = r["rows"]
    dtypes = list(dict.fromkeys(x["dtype"] for x in rows))
    best = {}
    for x in rows:
        key = (x["threads"], x["B"], x["T"], x["dtype"])
        best[key] = min(best.get(key, x["ms"]), x["ms"])
    lines = [f"{r.get('cpu_model', '')} ({r.get('cores')} logical cores; fastest run, ms, and speed-up over 1 thread)",
             "| threads | " + " | ".join(f"{d} {b}x{t}" for b, t in CASES for d in dtypes) + " |",
             "|---|" + "---|" * (len(CASES) * len(dtypes))]
    for n in sorted({x["threads"] for x in rows}):
        cells = []
        for b, t in CASES:
            for d in dtypes:
                base = best.get((1, b, t, d))
                ms = best[(n, b, t, d)]
                cells.append(f"{ms:.1f}" + (f" ({base / ms:.2f}x)" if base else ""))
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    others = [d for d in dtypes if d != "f32"]
    if "f32" in dtypes and others:
        lines += ["", "f32's time / each dtype's: per run (back to back), median over the runs of a thread count",
                  "| threads | " + " | ".join(f"{d} {b}x{t}" for b, t in CASES for d in others) + " |",
                  "|---|" + "---|" * (len(CASES) * len(others))]
        per_run = len(CASES) * len(dtypes)   # rows of one entry of --threads (pages before "run" was recorded)
        run = [x.get("run", i // per_run) for i, x in enumerate(rows)]
        by_run = {(u, x["threads"], x["B"], x["T"], x["dtype"]): x["ms"] for u, x in zip(run, rows)}
        for n in sorted({x["threads"] for x in rows}):
            runs = sorted({u for u, x in zip(run, rows) if x["threads"] == n})
            cells = [f"{statistics.median(by_run[(u, n, b, t, 'f32')] / by_run[(u, n, b, t, d)] for u in runs):.2f}"
                     for b, t in CASES for d in others]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="thread counts, in order")
    ap.add_argument("--seconds", type=float, default=1.0, help="warm-up and measuring time per case")
    ap.add_argument("--stage", type=Path, help="write the folder to carry elsewhere and stop")
    ap.add_argument("--dtypes", default=DTYPES, help="weight layouts, comma-separated (cpu_bench's weight())")
    ap.add_argument("--table", type=Path, help="print the table of a JSON result (e.g. run.py's) and stop")
    args = ap.parse_args(argv)
    unknown = [d for d in args.dtypes.split(",") if d not in cpu_bench.KNOWN_DTYPES]
    if unknown:
        ap.error(f"unknown weight layout(s) {', '.join(unknown)}: use {', '.join(cpu_bench.KNOWN_DTYPES)}")
    if args.stage:
        print(f"staged {stage(args.stage)}: python3 {args.stage}/run.py CHROMIUM OUT_JSON --threads 1,2,4,8")
        return 0
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    from staticml.builder.serve import make_server

    threads = json.dumps([int(t) for t in args.threads.split(",")])
    with tempfile.TemporaryDirectory() as tmp:
        root = stage(Path(tmp) / "page")
        server = make_server(root, 0, quiet=True)   # _headers from write_page: COOP/COEP
        threading.Thread(target=server.serve_forever, daemon=True).start()
        driver = cpu_bench.make_driver()
        try:
            r = cpu_bench.run_page(driver, f"http://127.0.0.1:{server.server_address[1]}/index.html?threads={threads}"
                                           f"&seconds={args.seconds}&dtypes={args.dtypes}")
        finally:
            driver.quit()
            server.shutdown()
            server.server_close()
    if r.get("error"):
        raise SystemExit(f"the page failed: {r['error']}")
    print(json.dumps(r, indent=1))
    print(table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
