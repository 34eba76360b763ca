"""The demo built with `--cross-origin-isolated`, served as a host that takes no header rules serves it (GitHub
Pages, plain object storage: no COOP/COEP on any response), in headless Chromium on the CPU kernels: what the
service worker's isolation (it adds COOP/COEP; site/sw_register.js reloads a first visit once) costs on the
first visit and buys on every query after. Two fresh profiles on one site, both `?backend=wasm`:

    isolated   the service worker isolates the page after one reload: the kernels get a thread per core (<= 16)
    held_off   that reload held off (as after a reload that did not isolate): the page stays unisolated, 1 thread

Cold start: from `driver.get` to the first embedding, the reload included. Then per round and case (staticml's
bench inputs) each page runs embed() `reps` times, the two alternating; the speed-up is the median over rounds
of held_off's median / isolated's median. Prints JSON, then a table.

    python bench/header_less_host.py [--dtype f32] [--rounds 5] [--reps 5]
"""
import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "py_src"))
sys.path.insert(0, str(REPO / "tests"))

from harness.site_server import NoHeaderRulesHandler  # noqa: E402
from staticml.bench import harness_chromium  # noqa: E402
from staticml.bench.search import CASES, _embed_times, _stats  # noqa: E402
from staticml.builder.serve import make_server  # noqa: E402
from staticml.builder.site import BuildOptions, build  # noqa: E402

MODES = ("isolated", "held_off")
# set before any page script runs: sw_register.js then treats the visit as one that reloaded already
HOLD_OFF = 'sessionStorage.setItem("staticml-isolation-reload", "1")'
WARMUP = 8   # untimed embed() per case and page (V8 tiers the kernels up; bench/search.py does the same)


def open_page(chromium, url: str, mode: str, profile: str) -> tuple:
    """A page in `mode`, settled: (driver, cold start in ms, what the page says about itself)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium.make_driver(user_data_dir=profile)
    if mode == "held_off":
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOLD_OFF})
    t0 = time.perf_counter()
    driver.get(url)
    if mode == "isolated":
        WebDriverWait(driver, 120, poll_frequency=0.05).until(lambda d: d.execute_script("return crossOriginIsolated"))
    else:
        WebDriverWait(driver, 120, poll_frequency=0.05).until(lambda d: d.execute_script("return Boolean(window.staticml)"))
    _embed_times(driver, ["hello world"], 1)
    cold_ms = (time.perf_counter() - t0) * 1000
    state = chromium.await_js(driver, """Promise.resolve({isolated: self.crossOriginIsolated,
        navigation: performance.getEntriesByType("navigation")[0].type, info: window.staticml.info()})""")
    return driver, cold_ms, state


def run(dtype: str, rounds: int, reps: int, log=print) -> dict:
    chromium = harness_chromium()
    with tempfile.TemporaryDirectory() as tmp:
        site = build(BuildOptions(out=Path(tmp) / "dist", demo_dtypes=(dtype,), cross_origin_isolated=True, log=log))
        server = make_server(site, 0, quiet=True, handler_base=NoHeaderRulesHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/?backend=wasm&dtype={dtype}"
        pages, rows = {}, {}
        try:
            for mode in MODES:
                log(f"{mode}: cold start in an empty profile")
                driver, cold_ms, state = open_page(chromium, url, mode, tempfile.mkdtemp(prefix=f"{mode}-", dir=tmp))
                pages[mode] = driver
                cpu = state["info"]["cpu"]
                rows[mode] = {"mode": mode, "cold_first_embedding_ms": round(cold_ms, 1),
                              "cross_origin_isolated": state["isolated"], "navigation": state["navigation"],
                              "backend": state["info"]["backend"], "cpu": cpu, "samples": {k: [] for k in CASES}}
                for texts in CASES.values():
                    _embed_times(driver, texts, 0, WARMUP)
            ratios = {k: [] for k in CASES}
            for r in range(rounds):
                log(f"round {r + 1} of {rounds}")
                for name, texts in CASES.items():
                    order = MODES if r % 2 == 0 else MODES[::-1]
                    medians = {}
                    for mode in order:
                        ms = _embed_times(pages[mode], texts, reps)
                        rows[mode]["samples"][name] += ms
                        medians[mode] = statistics.median(ms)
                    ratios[name].append(medians["held_off"] / medians["isolated"])
        finally:
            for driver in pages.values():
                driver.quit()
            server.shutdown()
            server.server_close()
    for row in rows.values():
        row["latency"] = {k: _stats(v) for k, v in row["samples"].items()}
        row["samples"] = {k: [round(x, 2) for x in v] for k, v in row["samples"].items()}
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "dtype": dtype, "rounds": rounds, "reps": reps,
            "rows": list(rows.values()),
            "speedup_isolated": {k: {"median": round(statistics.median(v), 2), "per_round": [round(x, 3) for x in v]}
                                 for k, v in ratios.items()},
            "method": __doc__.split("\n\n", 1)[0]}


def table(r: dict) -> str:
    lines = [f"{r['dtype']} demo, host without header rules, `?backend=wasm` ({r['date']}; median / p90 ms)",
             "| page | isolated | threads | cold -> 1st embedding | " + " | ".join(CASES) + " |",
             "|---|---|---|---|" + "---|" * len(CASES)]
    for row in r["rows"]:
        cells = [f"{row['latency'][k]['median_ms']} / {row['latency'][k]['p90_ms']}" for k in CASES]
        lines.append(f"| {row['mode']} ({row['navigation']}) | {row['cross_origin_isolated']} | {row['cpu']['threads']} | "
                     f"{row['cold_first_embedding_ms'] / 1000:.1f} s | " + " | ".join(cells) + " |")
    lines.append("| held_off / isolated (median of rounds) | | | | "
                 + " | ".join(f"{r['speedup_isolated'][k]['median']}x" for k in CASES) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16", "q8", "q4"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    r = run(args.dtype, args.rounds, args.reps, log=lambda *a: print(*a, file=sys.stderr, flush=True))
    print(json.dumps(r, indent=1))
    print(table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
