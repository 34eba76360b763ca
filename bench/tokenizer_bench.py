"""Tokenizer benchmark (a script, not a test): tokens per second over the whole test corpus natively
(Rust `tokenizers` and the pure-Python backend) and in the browser (the pure-Python backend inside
Pyodide in real headless Chromium), plus the time to load each tokenizer.json in the browser.

    python bench/tokenizer_bench.py [--repeat N] [--no-browser] [--json-only]

Then the same for MiniLM's tokenizer on the semantic-search benchmark's English inputs (512 copies of its
128-token text and its batch of 32 sentences, staticml.bench_inputs): what the demo's batches cost, where the
corpus above mixes in every script and category the parity tests cover.

`main(argv)` is what `build.py bench tokenizer` calls. Prints one JSON object, then a table.
Timings on shared machines are noisy: each number is the best of --repeat runs after a warm-up.
"""
import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for p in (REPO / "py_src", REPO / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

# Runs inside Pyodide (and natively for the same numbers): load each file, then time encode_batch over
# the corpus in batches of 64 without truncation or padding, through staticml's API (so the Rust numbers
# include building the Python lists of ids, masks and offsets). Inputs: FILES (name -> json text), TEXTS.
TIMING_CODE = r"""
import time
from staticml.tokenizer import Tokenizer

def _bench(files, texts, repeat, backend=None):
    results = {}
    for name, text in files.items():
        t0 = time.perf_counter()
        tok = Tokenizer.from_json(text, backend=backend)
        load_s = time.perf_counter() - t0
        tokens, best = 0, float("inf")
        for k in range(repeat + 1):  # the first pass only warms up the engine (V8 tiers up the wasm)
            if k:  # each timed pass gets a fresh tokenizer: its word caches start cold, as for new text
                tok = Tokenizer.from_json(text, backend=backend)
            t0 = time.perf_counter()
            n = 0
            for i in range(0, len(texts), 64):
                b = tok.encode_batch(texts[i:i + 64], padding=False, truncation=False)
                n += sum(len(r) for r in b.ids)
            dt = time.perf_counter() - t0
            best, tokens = min(best, dt), n
        results[name] = {"load_s": load_s, "tokens": tokens, "encode_s": best, "tokens_per_s": tokens / best,
                         "backend": tok.backend_name}
    return results
"""

BENCH_HTML = """<!doctype html><meta charset="utf-8"><title>tokenizer bench</title>
<script type="module">
window.runBench = async (repeat) => {
  const { loadPyodide } = await import("./pyodide.mjs");
  const t0 = performance.now();
  const py = await loadPyodide({ indexURL: "./" });
  await py.loadPackage("staticml");
  const boot_s = (performance.now() - t0) / 1000;
  const get = async (f) => (await fetch(f)).text();
  py.globals.set("FILES_JSON", await get("files.json"));
  py.globals.set("TEXTS_JSON", await get("texts.json"));
  py.runPython(await get("timing.py"));
  const out = py.runPython(`import json; json.dumps(_bench(json.loads(FILES_JSON), json.loads(TEXTS_JSON), ${repeat}))`);
  return JSON.stringify({ boot_s, files: JSON.parse(out) });
};
</script>"""


def english_inputs() -> list:
    from staticml import bench_inputs

    return [bench_inputs.as_json()["throughput_128"]] * 512 + list(bench_inputs.BATCH_32)


def _native(files: dict, texts: list, repeat: int) -> dict:
    scope: dict = {}
    exec(TIMING_CODE, scope)
    return {backend: scope["_bench"](files, texts, repeat, backend) for backend in ("rust", "python")}


def _browser(files: dict, texts: list, repeat: int) -> dict:
    from harness import chromium
    from harness.pyodide_dist import make_pyodide_dist
    from harness.site_server import serving

    out = REPO / "build" / "tokenizer-bench"
    make_pyodide_dist(out)  # Pyodide core + this checkout's staticml wheel + lockfile, all self-hosted
    (out / "index.html").write_text(BENCH_HTML, encoding="utf-8")
    (out / "_headers").write_text("", encoding="utf-8")  # the product's server reads it; no isolation needed
    (out / "files.json").write_text(json.dumps(files), encoding="utf-8")
    (out / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    (out / "timing.py").write_text(TIMING_CODE, encoding="utf-8")
    driver = chromium.make_driver(webgpu=False)
    try:
        driver.set_script_timeout(600)
        with serving(out) as url:
            driver.get(url + "/")
            return json.loads(chromium.await_js(driver, f"window.runBench({repeat})"))
    finally:
        driver.quit()
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tokenizer_bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=2, help="timed passes per file after one warm-up (best kept)")
    ap.add_argument("--no-browser", action="store_true", help="native numbers only")
    ap.add_argument("--json-only", action="store_true")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    from tokenizer_data import reference

    files = {name: text for name, (text, _) in reference.files().items()}
    texts = list(reference.texts())
    report = {"corpus_strings": len(texts), "corpus_chars": sum(map(len, texts)), "repeat": args.repeat,
              "native": _native(files, texts, args.repeat)}
    if not args.no_browser:
        report["browser"] = _browser(files, texts, args.repeat)
    english, minilm = english_inputs(), {"minilm": files["minilm"]}
    report["english_inputs"] = {"texts": len(english), "native": _native(minilm, english, args.repeat)}
    if not args.no_browser:
        report["english_inputs"]["browser"] = _browser(minilm, english, args.repeat)
    print(json.dumps(report, indent=1))
    if not args.json_only:
        _table(report)
    return 0


def _table(report: dict) -> None:
    rows = [("file", "tokens", "rust tok/s", "python tok/s", "browser tok/s", "browser load ms", "browser/rust")]
    for name, rust in report["native"]["rust"].items():
        py = report["native"]["python"][name]
        br = report.get("browser", {}).get("files", {}).get(name)
        rows.append((name, str(rust["tokens"]), f"{rust['tokens_per_s']:,.0f}", f"{py['tokens_per_s']:,.0f}",
                     f"{br['tokens_per_s']:,.0f}" if br else "-", f"{br['load_s'] * 1000:,.0f}" if br else "-",
                     f"1/{rust['tokens_per_s'] / br['tokens_per_s']:.1f}" if br else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if "browser" in report:
        print(f"browser: Pyodide boot + staticml load {report['browser']['boot_s']:.2f} s")
    en = report["english_inputs"]
    cells = [f"rust {en['native']['rust']['minilm']['tokens_per_s']:,.0f}",
             f"python {en['native']['python']['minilm']['tokens_per_s']:,.0f}"]
    if "browser" in en:
        b = en["browser"]["files"]["minilm"]
        cells.append(f"browser {b['tokens_per_s']:,.0f} ({b['encode_s'] * 1000:.0f} ms)")
    print(f"minilm on the bench's English inputs ({en['texts']} texts), tok/s: " + ", ".join(cells))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
