"""What this CPU can do with the instructions the CPU kernels compile to: the native ceiling of each
micro-kernel's instruction mix (isa_ceiling.c, built with ziglang for this machine's x86-64, one thread),
next to the mix PyTorch's CPU kernels use (AVX2, 256 bits). Prints JSON and a table.

    python bench/isa_ceiling.py [--seconds 0.2] [--trials 7] [--wasm] [--json out.json]

The question behind it (issue 7): how fast can a q8 linear be next to an f32 one, here, with what
WebAssembly gives V8 to emit? f32x4.relaxed_madd is one 128-bit FMA; the accurate q8 path (q8p: int16
activations) is vpmaddwd + vpaddd; relaxed SIMD's int8 dot product, without AVX-VNNI, is vpmaddubsw +
vpmaddwd + vpaddd and needs 7-bit activations (too inaccurate for MiniLM: shaders/README.md). Each mix runs
in trials interleaved with the others (this machine's speed drifts); a trial's rate is its fastest ~4 ms
chunk (as the page's rate is its fastest call), a mix's GMAC/s its best trial. The
ratios are per core and bound what the wasm kernels can reach. With --wasm, each trial also opens
staticml.builder.cpu_bench's page in headless Chromium and times the real kernels (relaxed SIMD build, 1
thread) on MiniLM's FFN shapes, so the table says how close V8's code comes to the native mix it compiles to.
"""
import argparse
import json
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIXES = {   # name: what it is
    "f32_fma128": "f32, 128-bit FMA: the wasm f32 kernel (f32x4.relaxed_madd)",
    "f32_fma256": "f32, 256-bit FMA (AVX2): PyTorch's CPU kernels",
    "q8p": "int8 W widened + int16 x, pmaddwd + paddd: the wasm q8p kernel",
    "q8p_i16w": "q8p with W already int16 (no widening)",
    "pmaddwd_only": "q8p_i16w without the adds: the multiplier alone",
    "i8dot_lowered": "pmaddubsw + pmaddwd + paddd: relaxed int8 dot without VNNI (7-bit x)",
}
RATIOS = [("q8p", "f32_fma128", "q8p ÷ f32 (the q8 kernel's ceiling over the f32 kernel's)"),
          ("pmaddwd_only", "f32_fma128", "bare pmaddwd ÷ f32 (any int16 q8 kernel's upper bound)"),
          ("i8dot_lowered", "f32_fma128", "relaxed int8 dot ÷ f32 (7-bit x: below the accuracy bar)"),
          ("f32_fma256", "f32_fma128", "AVX2 f32 ÷ wasm f32 (PyTorch's ISA over wasm SIMD's)")]


def cpu_model() -> dict:
    info = {"machine": platform.machine()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and "model" not in info:
            info["model"] = value.strip()
        if key.strip() == "flags" and "flags" not in info:
            flags = set(value.split())
            info["flags"] = sorted(flags & {"avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni"})
    return info


def build(out_dir: Path) -> Path:
    """isa_ceiling.c -> a native binary (ziglang's clang, from the venv's PyPI package)."""
    exe = out_dir / "isa_ceiling"
    cmd = [sys.executable, "-m", "ziglang", "cc", "-O2", "-mavx2", "-mfma", "-o", str(exe), str(HERE / "isa_ceiling.c")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"isa_ceiling: could not compile isa_ceiling.c ({' '.join(cmd)}):\n{done.stderr}")
    return exe


# the wasm kernels timed next to their native mixes (--wasm): MiniLM's FFN up and down at 256 tokens
WASM_SHAPES = [[256, 384, 1536], [256, 1536, 384]]
WASM_MIX = {"f32": "f32_fma128", "q8p": "q8p"}
# after a page, Chromium tears it down on other threads for a moment; the native trial that follows waits it out
SETTLE_S = 1.0


class WasmPage:
    """cpu_bench's page (the CPU kernels, 1 thread, relaxed SIMD) behind a local server in headless Chromium."""

    def __init__(self, seconds: float):
        sys.path.insert(0, str(HERE.parent / "py_src"))
        from staticml.builder import cpu_bench
        from staticml.builder.serve import make_server

        self.cpu_bench, self.tmp = cpu_bench, tempfile.TemporaryDirectory()
        cpu_bench.write_page(Path(self.tmp.name))
        self.server = make_server(Path(self.tmp.name), 0, quiet=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.driver = cpu_bench.make_driver()
        self.url = (f"http://127.0.0.1:{self.server.server_address[1]}/?variant=relaxed&threads=1&seconds={seconds}"
                    f"&shapes={json.dumps(WASM_SHAPES)}&dtypes={json.dumps(list(WASM_MIX))}&encoder=[]"
                    f"&encoder_dtypes=[]").replace(" ", "")

    def rates(self) -> dict:
        """{dtype: GMAC/s of its fastest shape} in a fresh page."""
        self.driver.get("about:blank")
        out = self.cpu_bench.run_page(self.driver, self.url)
        best = {}
        for row in out["rows"]:
            best[row["dtype"]] = max(best.get(row["dtype"], 0.0), row["gflops"] / 2)
        self.driver.get("about:blank")
        time.sleep(SETTLE_S)
        return best

    def close(self):
        self.driver.quit()
        self.server.shutdown()
        self.tmp.cleanup()


def run(seconds: float, trials: int, wasm: bool = False) -> dict:
    cpu = cpu_model()
    if cpu["machine"] not in ("x86_64", "AMD64") or not {"avx2", "fma"} <= set(cpu.get("flags", [])):
        raise SystemExit(f"isa_ceiling: needs an x86-64 CPU with AVX2 and FMA (this is {cpu}); the mixes are "
                         "the x86 instructions V8 emits for the wasm kernels")
    samples, wasm_trials = [], []
    page = WasmPage(seconds) if wasm else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            exe = build(Path(tmp))
            for t in range(trials):   # native and wasm alternate, so both meet the same machine
                out = subprocess.run([str(exe), str(seconds), "1"], capture_output=True, text=True, check=True).stdout
                samples += [json.loads(line) for line in out.splitlines() if line.strip()]
                if page:
                    wasm_trials.append(page.rates())
    finally:
        if page:
            page.close()
    mixes = {}
    for name, what in MIXES.items():
        mine = [s for s in samples if s["mix"] == name]
        rates = [s["chunk_macs"] / s["chunk_seconds"] / 1e9 for s in mine]   # each trial's fastest ~4 ms
        means = [s["macs"] / s["seconds"] / 1e9 for s in mine]
        mixes[name] = {"what": what, "gmacs": round(max(rates), 2), "gflops": round(2 * max(rates), 1),
                       "trials_gmacs": [round(r, 2) for r in rates], "trials_mean_gmacs": [round(r, 2) for r in means],
                       "verified": all(s["ok"] for s in mine)}
    ratios = {f"{a}/{b}": {"what": what, "value": round(mixes[a]["gmacs"] / mixes[b]["gmacs"], 3)}
              for a, b, what in RATIOS}
    r = {"cpu": cpu, "threads": 1, "seconds_per_trial": seconds, "trials": trials, "mixes": mixes, "ratios": ratios}
    if wasm:
        r["wasm"] = {}
        for dtype, mix in WASM_MIX.items():
            rates = [w[dtype] for w in wasm_trials]
            native = mixes[mix]["trials_gmacs"]
            r["wasm"][dtype] = {"mix": mix, "gmacs": round(max(rates), 2), "trials_gmacs": [round(x, 2) for x in rates],
                                "of_native_best": round(max(rates) / mixes[mix]["gmacs"], 3),
                                "of_native_per_trial": [round(w / n, 3) for w, n in zip(rates, native)]}
        r["wasm"]["q8p/f32"] = round(r["wasm"]["q8p"]["gmacs"] / r["wasm"]["f32"]["gmacs"], 3)
    return r


def table(r: dict) -> str:
    lines = [f"{r['cpu'].get('model', '?')} ({', '.join(r['cpu'].get('flags', []))}), 1 thread, best of "
             f"{r['trials']} interleaved trials", "", "| mix | GMAC/s | GFLOP/s | verified | what |", "|---|---|---|---|---|"]
    for name, m in r["mixes"].items():
        lines.append(f"| {name} | {m['gmacs']} | {m['gflops']} | {m['verified']} | {m['what']} |")
    lines += ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {v['what']} | {v['value']} |" for v in r["ratios"].values()]
    if "wasm" in r:
        lines += ["", "| wasm kernel (Chromium, 1 thread) | GMAC/s | ÷ its native mix (best / per trial) |", "|---|---|---|"]
        for dtype in WASM_MIX:
            w = r["wasm"][dtype]
            lines.append(f"| {dtype} ({w['mix']}) | {w['gmacs']} | {w['of_native_best']} / {w['of_native_per_trial']} |")
        lines.append(f"| q8p ÷ f32 in the browser | {r['wasm']['q8p/f32']} | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=0.2, help="time per mix and trial")
    ap.add_argument("--trials", type=int, default=7, help="interleaved trials (a mix's rate is its best)")
    ap.add_argument("--wasm", action="store_true", help="also time the wasm kernels in headless Chromium, per trial")
    ap.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    r = run(args.seconds, args.trials, args.wasm)
    text = json.dumps(r, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print()
    print(table(r))
    return 0 if all(m["verified"] for m in r["mixes"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
