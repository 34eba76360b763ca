"""Merge what device_run.sh brought back into one results JSON and print the README's tables.

    python bench/h100/summarize.py --run DIR [--run DIR2 ...] --out bench/results/h100-DATE.json

Each DIR holds one device session's files ({f32,f16,f16unpack,q8}.json from bench.html, torch.json from
torch_cuda_reference.py, ops.json from bench-ops.html, env-*.txt). The first DIR is the primary run (the
tables come from it); later ones are repeats, kept in full and compared in `repeat_spread`.
"""
import argparse
import json
import re
from pathlib import Path

VARIANTS = {"f32": "f32", "f16": "f16 (native shader-f16)", "f16unpack": "f16 (unpack2x16float)", "q8": "q8"}
CASES = ("short_1", "batch_8", "batch_32", "passage_250")
SIZES = ("batch_32", "batch_128", "batch_512")


def load_run(folder: Path) -> dict:
    run = {"browser": {}, "files": sorted(p.name for p in folder.iterdir())}
    for v in VARIANTS:
        if (folder / f"{v}.json").is_file():
            run["browser"][v] = json.loads((folder / f"{v}.json").read_text())
    for name in ("torch", "ops", "smoke"):
        if (folder / f"{name}.json").is_file():
            run[name] = json.loads((folder / f"{name}.json").read_text())
    envs = sorted(folder.glob("env-*.txt"))
    run["env"] = envs[0].read_text() if envs else ""
    return run


def _shape_tflops(browser: dict) -> dict:
    """(M, K, N) -> TFLOP/s of the model's linear kernel, from every profiled case of one variant."""
    out = {}
    for section in ("probe", "throughput"):
        for case in browser.get(section, {}).values():
            for key, row in case.get("profile", {}).get("matmul_by_shape", {}).items():
                m = re.match(r"(\d+)x(\d+)x(\d+) ", key)
                out[tuple(int(g) for g in m.groups())] = {"tflops": row["tflops"], "ms_each": row["ms_each"]}
    return out


def summarize(run: dict) -> dict:
    s = {"browser": {}, "pytorch": {}}
    torch = run.get("torch", {})
    t32 = {(r["M"], r["K"], r["N"]): r for r in torch.get("linear", {}).get("fp32", [])}
    for v, b in run["browser"].items():
        if "error" in b:
            s["browser"][v] = {"error": b["error"]}
            continue
        row = {"label": VARIANTS[v], "kernel_f16": b["describe"]["f16_weights"],
               "first_embedding_ms": b["first_embedding_ms"], "build_stats": b["describe"]["build_stats"],
               "latency_page_ms": {c: b["latency"][c]["median_ms"] for c in CASES if c in b["latency"]},
               "latency_worker": {}, "throughput": {}}
        for c in CASES:
            p = b["probe"].get(c, {})
            if "e2e" in p:
                row["latency_worker"][c] = {k: p[k]["median_ms"] for k in ("e2e", "tokenize", "forward", "host_write_encode_submit",
                                                                           "wait_gpu", "readback", "gpu")}
                row["latency_worker"][c].update(dispatches=p["dispatches"], gpu_us_per_dispatch=p["gpu_us_per_dispatch"],
                                                replay_host_us_per_dispatch=p["replay_host_us_per_dispatch"],
                                                forwards=[(f["B"], f["T"]) for f in p["forwards"]])
        for size in SIZES:
            p = b["throughput"].get(size, {})
            if "e2e" in p:
                row["throughput"][size] = {k: p[f"{k}_sentences_per_s"] for k in ("e2e", "forward", "gpu")}
                row["throughput"][size]["gpu_ms"] = p["gpu"]["median_ms"]
                row["throughput"][size]["gpu_ms_by_family"] = {f: r["ms"] for f, r in p["profile"]["by_family"].items()}
        shapes = _shape_tflops(b)
        row["matmul_vs_pytorch_fp32"] = {f"{M}x{K}x{N}": {"browser_tflops": r["tflops"], "pytorch_fp32_tflops": t32[(M, K, N)]["tflops"],
                                                          "ratio": round(r["tflops"] / t32[(M, K, N)]["tflops"], 3)}
                                         for (M, K, N), r in sorted(shapes.items()) if (M, K, N) in t32}
        s["browser"][v] = row
    for dt, r in torch.get("dtypes", {}).items():
        s["pytorch"][dt] = {"latency_ms": {c: {k: r["latency"][c][k]["median_ms"] for k in ("e2e", "forward", "gpu")} for c in CASES},
                            "throughput": {size: {k: r["throughput"][size][f"{k}_sentences_per_s"] for k in ("e2e", "forward", "gpu")}
                                           for size in SIZES if size in r["throughput"]},
                            "attn_implementation": r.get("attn_implementation")}
    fp32 = s["pytorch"].get("fp32", {}).get("throughput", {}).get("batch_512", {})
    for v, row in s["browser"].items():
        tp = row.get("throughput", {}).get("batch_512")
        if tp and fp32:
            row["batch_512_vs_pytorch_fp32"] = {k: round(tp[k] / fp32[k], 3) for k in ("e2e", "forward", "gpu")}
    if "ops" in run:
        s["host_overhead"] = run["ops"].get("host_overhead")
    return s


def table(s: dict) -> str:
    L = ["| path | short 1 | batch 8 | batch 32 | ~250 tok | tput 32 | tput 128 | tput 512 | GPU ms @512: linear / attention / norm |",
         "|---|---|---|---|---|---|---|---|---|"]
    for v, r in s["browser"].items():
        if "error" in r:
            L.append(f"| browser {v} | error: {r['error']} |")
            continue
        lat = " | ".join(f"{r['latency_page_ms'][c]} ({r['latency_worker'][c]['forward']} / {r['latency_worker'][c]['gpu']})" for c in CASES)
        tp = " | ".join(f"{r['throughput'][k]['forward']:.0f}" for k in SIZES)
        fam = r["throughput"]["batch_512"]["gpu_ms_by_family"]
        L.append(f"| browser {r['label']} | {lat} | {tp} | {fam.get('linear', 0):.0f} / {fam.get('attention', 0):.0f} / "
                 f"{fam.get('norm', 0):.1f} |")
    for dt, r in s["pytorch"].items():
        lat = " | ".join(f"{r['latency_ms'][c]['e2e']:.2f} ({r['latency_ms'][c]['forward']:.2f} / {r['latency_ms'][c]['gpu']:.2f})" for c in CASES)
        tp = " | ".join(f"{r['throughput'][k]['forward']:.0f}" for k in SIZES)
        L.append(f"| PyTorch CUDA {dt} | {lat} | {tp} | |")
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, action="append", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--meta", type=Path, default=None, help="a JSON of extra fields (commands, notes) to store")
    a = ap.parse_args(argv)
    runs = [load_run(d) for d in a.run]
    summaries = [summarize(r) for r in runs]
    first = next(iter(runs[0]["browser"].values()))
    result = {"issue": 9, "date": runs[0].get("torch", {}).get("date"),
              "machine": runs[0]["env"].strip().splitlines(),
              "chromium": re.search(r"HeadlessChrome/[\d.]+", first["user_agent"]).group(0),
              "adapter": {**first["describe"]["adapter"], "features": first["describe"]["adapter_features"],
                          "limits": first["describe"]["limits"]},
              **(json.loads(a.meta.read_text()) if a.meta else {}),
              "summary": summaries[0], "repeats": summaries[1:], "runs": runs}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(summaries[0]))
    for v, r in summaries[0]["browser"].items():
        print(v, "batch 512 vs PyTorch fp32:", r.get("batch_512_vs_pytorch_fp32"))
        print("   matmul vs PyTorch fp32:", {k: x["ratio"] for k, x in r.get("matmul_vs_pytorch_fp32", {}).items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
