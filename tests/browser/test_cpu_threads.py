"""The multi-threaded CPU kernels: a page served with COOP/COEP by the product's own server (shared
wasm memory needs cross-origin isolation) runs Pyodide + staticml + cpu_glue.js with a pool of 2
threads, and the results must match the numpy references exactly as the single-thread ones do.
The same page without COOP/COEP must fall back to one thread and say why."""
import base64
import inspect
import json
import os
from pathlib import Path

import pytest

import cpu_cases
from harness.chromium import await_js, make_driver
from harness.site_server import serving
from staticml.builder.headers import cloudflare_headers, rules
from test_cpu_kernels import QMAX, REPO, install_cpu_kernels

MT_SHAPES = [(3, 17, 5), (17, 127, 33), (5, 384, 384), (127, 40, 9), (64, 96, 200), (70, 1536, 20)]

PAGE = """<!doctype html><meta charset="utf-8"><title>staticml cpu threads test</title>
<script type="module">
import { loadPyodide } from "./pyodide.mjs";
window.ready = (async () => {
  const pyodide = await loadPyodide({ indexURL: "./" });
  await pyodide.loadPackage("staticml");
  pyodide.registerJsModule("staticml_cpu", await import("./cpu_glue.js"));
  window.pyodide = pyodide;
  return self.crossOriginIsolated;
})();
// Runs cpu_cases.run_cases in Pyodide; inputs and outputs travel base64-encoded inside JSON.
window.runCases = async (runnerSrc, urlsJson, variant, threads, casesJson) => {
  const py = window.pyodide;
  py.globals.set("runner_src", runnerSrc);
  py.globals.set("cases_json", casesJson);
  return await py.runPythonAsync(`
import base64, json
ns = {}
exec(runner_src, ns)
cases = json.loads(cases_json)
for c in cases:
    c["inputs"] = {k: base64.b64decode(v) for k, v in c["inputs"].items()}
out = await ns["run_cases"](${JSON.stringify(urlsJson)}, ${JSON.stringify(variant)}, ${threads}, cases)
json.dumps({"info": out["info"], "results": {cid: {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v
                                                   for k, v in r.items()} for cid, r in out["results"].items()}})
`);
};
</script>
"""


def make_root(root: Path, dist: Path, isolated: bool) -> str:
    """A served folder: the pytest-pyodide dist (Pyodide core, lockfile, staticml wheel), the CPU kernels, the page."""
    root.mkdir(parents=True)
    for f in dist.iterdir():
        if f.is_file():
            os.symlink(f, root / f.name)
    urls = install_cpu_kernels(root)
    (root / "index.html").write_text(PAGE)
    (root / "_headers").write_text(cloudflare_headers(rules(cross_origin_isolated=isolated)))
    return urls


def mt_cases(qmax):
    return (cpu_cases.matmul_cases(shapes=MT_SHAPES, qmax=qmax) + cpu_cases.norm_cases() + cpu_cases.softmax_cases()
            + cpu_cases.attention_cases() + cpu_cases.elementwise_cases() + cpu_cases.batched_matmul_cases())


CASES = {variant: {c["id"]: c for c in mt_cases(qmax)} for variant, qmax in QMAX.items()}


# On the isolated page: the kernels with 2 threads add two vectors (split across the pool), are unloaded
# (memory and pool dropped), and load again with a new pool that adds correctly too; then 20 threads are asked
# for, more than the kernels take (SM_MAX_THREADS): 16 start, the reasons say so, and the sum is right.
UNLOAD_AND_LOAD_AGAIN = """async (urlsJson) => {
  const cpu = await import("./cpu_glue.js");
  const n = 1 << 16, rounds = [];
  for (const [round, asked] of [[0, 2], [1, 2], [2, 20]]) {
    const info = JSON.parse(await cpu.init(urlsJson, "auto", asked));
    const a = cpu.alloc(4 * n), b = cpu.alloc(4 * n), out = cpu.alloc(4 * n);
    const av = new Float32Array(n).map((_, i) => i), bv = new Float32Array(n).map((_, i) => round - 2 * i);
    cpu.write(a, av); cpu.write(b, bv);
    cpu.add(a, b, out, n);
    const got = new Float32Array(cpu.read(out, 4 * n).buffer);
    const wrong = got.findIndex((v, i) => v !== round - i);
    cpu.unload();
    rounds.push({threads: info.threads, wrong, memory_after_unload: cpu.memoryBytes(),
                 capped: info.reasons.some((r) => r.includes("at most 16"))});
  }
  return rounds;
}"""


# threads = 0 (the default): one per logical core as the page sees it, at most 16; returns what started and
# what the page reports as its cores (Emulation.setHardwareConcurrencyOverride sets that below).
DEFAULT_THREADS = """async (urlsJson) => {
  const cpu = await import("./cpu_glue.js");
  const info = JSON.parse(await cpu.init(urlsJson, "auto", 0));
  cpu.unload();
  return {cores: navigator.hardwareConcurrency, threads: info.threads, said: info.reasons.at(-1)};
}"""


def run_page(driver, url, urls, variant, threads, cases):
    driver.get(url)
    isolated = await_js(driver, "window.ready")
    wire = [{**cpu_cases.wire(c), "inputs": {k: base64.b64encode(v).decode() for k, v in c["inputs"].items()}}
            for c in cases]
    out = json.loads(await_js(driver, "window.runCases(%s, %s, %s, %d, %s)" % (
        json.dumps(inspect.getsource(cpu_cases.run_cases)), json.dumps(urls), json.dumps(variant), threads,
        json.dumps(json.dumps(wire)))))
    for r in out["results"].values():
        for k, v in r.items():
            if k != "error":
                r[k] = base64.b64decode(v)
    return isolated, out


@pytest.fixture(scope="module")
def pages(request, tmp_path_factory):
    dist = Path(request.config.getoption("--dist-dir"))
    dist = dist if dist.is_absolute() else REPO / dist
    tmp = tmp_path_factory.mktemp("cpu-threads")
    urls = make_root(tmp / "isolated", dist, True)
    make_root(tmp / "plain", dist, False)
    driver = make_driver(webgpu=False)
    try:
        with serving(tmp / "isolated") as iso_url, serving(tmp / "plain") as plain_url:
            results = {v: run_page(driver, iso_url, urls, v, 2, list(CASES[v].values())) for v in QMAX}
            reload = await_js(driver, "(%s)(%s)" % (UNLOAD_AND_LOAD_AGAIN, json.dumps(urls)))
            defaults = []
            for cores in (6, 24):
                driver.execute_cdp_cmd("Emulation.setHardwareConcurrencyOverride", {"hardwareConcurrency": cores})
                defaults.append(await_js(driver, "(%s)(%s)" % (DEFAULT_THREADS, json.dumps(urls))))
            plain = run_page(driver, plain_url, urls, "auto", 2, list(CASES["simd128"].values())[:3])
        yield {"threads": results, "plain": plain, "reload": reload, "defaults": defaults}
    finally:
        driver.quit()


@pytest.mark.parametrize("variant", list(QMAX))
def test_isolated_page_runs_two_threads(pages, variant):
    isolated, out = pages["threads"][variant]
    assert isolated is True
    assert out["info"]["variant"] == f"{variant}-threads" and out["info"]["threads"] == 2, out["info"]


def test_unloaded_kernels_free_their_memory_and_load_again_with_a_new_pool(pages):
    assert pages["reload"][:2] == [{"threads": 2, "wrong": -1, "memory_after_unload": 0, "capped": False}] * 2, \
        pages["reload"]


def test_more_threads_than_the_kernels_take_start_their_limit_and_say_so(pages):
    assert pages["reload"][2] == {"threads": 16, "wrong": -1, "memory_after_unload": 0, "capped": True}


def test_the_default_is_one_thread_per_core_up_to_16(pages):
    assert pages["defaults"] == [{"cores": 6, "threads": 6, "said": "6 threads: one per logical core (6), at most 16"},
                                 {"cores": 24, "threads": 16, "said": "16 threads: one per logical core (24), at most 16"}]


def test_plain_page_falls_back_to_one_thread_and_says_why(pages):
    isolated, out = pages["plain"]
    assert isolated is False
    assert out["info"]["threads"] == 1 and not out["info"]["variant"].endswith("-threads"), out["info"]
    assert any("cross-origin isolated" in r for r in out["info"]["reasons"]), out["info"]
    assert not any("error" in r for r in out["results"].values())


@pytest.mark.parametrize("variant", list(QMAX))
@pytest.mark.parametrize("case_id", list(CASES["simd128"]))
def test_threaded_kernel_matches_numpy(pages, variant, case_id):
    _, out = pages["threads"][variant]
    cpu_cases.compare(CASES[variant][case_id], out["results"][case_id])
