"""The default demo site end to end in headless Chromium: embeddings match sentence-transformers on both
backends (WebGPU = SwiftShader here, and the WebAssembly SIMD CPU kernels), the search page works with the
keyboard, has short queries' plans ready, says what is wrong with a bad query, and works offline on the second visit; a calibration picks
the faster backend and is remembered. Leaves a screenshot in test-artifacts/."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from selenium.webdriver.common.keys import Keys

from harness import chromium
from harness.chromium import JSError, await_js
from harness.site_server import serving

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "golden"))
from make_minilm_golden import OUT  # noqa: E402
from sentences import SENTENCES  # noqa: E402

MIN_COSINE = {"f32": 0.9999, "f16": 0.999, "q8": 0.995}   # the semantic-search issue's bars
ARTIFACTS = REPO / "test-artifacts"
SEARCH_READY = ("new Promise((ok, fail) => { const t = setInterval(() => { const m = document.getElementById('search-meta');"
                " if (m.textContent.startsWith('ready')) { clearInterval(t); ok(m.textContent); }"
                " if (m.className === 'error') { clearInterval(t); fail(new Error(m.textContent)); } }, 100); })")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    from staticml.builder.site import BuildOptions, build

    site = build(BuildOptions(out=tmp_path_factory.mktemp("demo") / "dist", demo_dtypes=("f32", "q8", "f16"),
                              log=lambda *_: None))
    with serving(site) as url:
        yield url


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    """One Chromium profile for the module: the first visit stores the model, later ones reuse it."""
    return str(tmp_path_factory.mktemp("profile"))


def open_page(url: str, profile: str = None):
    driver = chromium.make_driver(user_data_dir=profile)
    driver.get(url)
    return driver


@pytest.mark.parametrize("backend", ["webgpu", "wasm"])
@pytest.mark.parametrize("dtype", ["f32", "q8", "f16"])
def test_embeddings_in_the_browser_match_sentence_transformers(demo_url, profile, dtype, backend):
    golden = np.load(OUT)["embeddings"]
    driver = open_page(f"{demo_url}?dtype={dtype}&backend={backend}", profile)
    try:
        info = await_js(driver, "window.staticml.ready")
        assert info["backend"] == backend and info["backend_reason"] == f"forced by ?backend={backend}"
        got = np.asarray(await_js(driver, f"window.staticml.embed({json.dumps(SENTENCES)}).then(r => r.map(v => Array.from(v)))"))
        cosine = (got * golden).sum(axis=1)
        assert cosine.min() >= MIN_COSINE[dtype], (dtype, SENTENCES[int(cosine.argmin())][:60], float(cosine.min()))
        info = await_js(driver, "window.staticml.info()")
        assert info["model"] == {"id": f"all-minilm-l6-v2-{dtype}", "dtype": dtype, "backend": backend,
                                 "index": "stdlib-docs"}
        # The page's search warm-up and this embed() share one model load: no shard is fetched twice.
        shards = [u for u in await_js(driver, "window.staticml.requests()")
                  if f"/models/all-minilm-l6-v2-{dtype}/" in u and u.endswith(".bin")]
        assert len(shards) == len(set(shards)), shards
        assert shards or backend == "wasm", "the first visit per dtype (WebGPU runs first) fetches the shards"
        assert info["timings"]["last_embed_ms"] > 0
    finally:
        driver.quit()


def bench_page(demo_url: str, profile: str, query: str) -> dict:
    """bench.html?query run to the end: its JSON result (which must not be an error)."""
    driver = open_page(f"{demo_url.rsplit('/', 1)[0]}/bench.html?{query}", profile)
    try:
        r = await_js(driver, "window.staticmlBench")
    finally:
        driver.quit()
    assert "error" not in r, r
    return r


def test_the_bench_page_probes_and_profiles_the_cpu_backend(demo_url, profile):
    """bench.html on the CPU kernels: the in-worker probe (cpu_probe) splits a batch of 8 mixed-length
    sentences into exact-shape runs that pad less than one batch would, and times every kernel call."""
    r = bench_page(demo_url, profile, "dtype=q8&backend=wasm&probe=1&profile=1&reps=1&warmup=0&cases=batch_8&idle=0,20")
    assert r["describe"]["backend"] == "wasm" and r["describe"]["model"]["dtype"] == "q8"
    p = r["probe"]["batch_8"]
    assert "error" not in p, p
    assert sum(f["rows"] for f in p["forwards"]) == 8 and len(p["forwards"]) > 1
    assert p["padded_tokens"] == sum(f["B"] * f["T"] for f in p["forwards"])
    longest = max(f["T"] for f in p["forwards"])
    assert p["tokens"] <= p["padded_tokens"] < 8 * longest          # less padding than one batch of 8
    prof = p["profile"]
    assert prof["dispatches"] == p["dispatches"] == sum(f["calls"] for f in p["forwards"])
    assert {"linear", "attention", "layer_norm", "embedding"} <= set(prof["by_family"])
    rows = {f["B"] * f["T"] for f in p["forwards"]}
    assert {int(k.split("x")[0]) for k in prof["matmul_by_shape"]} == rows
    assert all(k.endswith(" q8") for k in prof["matmul_by_shape"])
    # the loader put each layer's query / key / value side by side: one [rows, 384] x [384, 1152] matmul per layer
    assert {k.split()[0].split("x", 1)[1] for k in prof["matmul_by_shape"]} == {"384x1152", "384x384", "384x1536",
                                                                                "1536x384"}
    assert all(f["calls"] == 46 for f in p["forwards"])
    # idle=0,20: embed() from the page and the worker's stages after each gap
    idle = r["after_idle"]["batch_8"]
    assert set(idle["page"]) == {"0", "20"} and all(s["n"] == 1 and s["median_ms"] > 0 for s in idle["page"].values())
    assert idle["probe"]["backend"] == "wasm" and idle["probe"]["forwards"] == [
        {k: f[k] for k in ("B", "T", "rows")} for f in p["forwards"]]
    for stages in idle["probe"]["by_gap"].values():
        assert set(stages) == {"e2e", "tokenize", "forward"}


def test_the_bench_page_splits_a_webgpu_query_after_idle_into_its_stages(demo_url, profile):
    """bench.html on WebGPU (SwiftShader) with idle=: per gap, the worker's host / wait / readback parts of
    the forward, and the GPU time from timestamps where the device has them."""
    r = bench_page(demo_url, profile, "dtype=f32&backend=webgpu&probe=1&reps=1&warmup=0&cases=short_1&idle=0,20")
    idle = r["after_idle"]["short_1"]
    assert "error" not in idle["probe"], idle["probe"]
    timestamps = "timestamp-query" in r["describe"]["features"]
    for stages in idle["probe"]["by_gap"].values():
        assert set(stages) == {"e2e", "tokenize", "forward", "host", "wait", "readback"} | ({"gpu"} if timestamps else set())
        parts = sum(stages[k]["median_ms"] for k in ("host", "wait", "readback"))
        assert parts <= stages["forward"]["median_ms"] + 0.5   # one sample each: the parts fit in the whole
    assert (idle["probe"]["note"] is None) == timestamps


def test_search_page_with_the_keyboard(demo_url, profile):
    driver = open_page(demo_url, profile)
    try:
        assert await_js(driver, SEARCH_READY).startswith("ready: 23")   # the stdlib corpus: > 2,000 documents
        box = driver.find_element("id", "query")
        assert driver.switch_to.active_element == box              # focus lands in the search box
        box.send_keys("read a file line by line", Keys.ENTER)
        await_js(driver, "new Promise(ok => { const t = setInterval(() => { if (document.querySelectorAll('#results li').length)"
                         " { clearInterval(t); ok(); } }, 100); })")
        ids = [e.text for e in driver.find_elements("css selector", "#results .doc-id")]
        assert len(ids) == 10 and any(i.startswith("fileinput.") for i in ids[:3]), ids
        meta = driver.find_element("id", "search-meta").text
        # auto on a software adapter: the CPU kernels, and the page says so
        assert "10 results in" in meta and "CPU (WebAssembly" in meta and "all-minilm-l6-v2-f32" in meta
        assert "software emulation (swiftshader)" in driver.find_element("id", "backend-reason").text
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "semantic-search.png"))

        # the plans of short queries were compiled in the background once the search was ready: a query of
        # up to 24 tokens compiles nothing, a longer one its own plan
        done = await_js(driver, "window.staticml.precompiled()")
        assert done["plans"] >= 20 and done["ms"] > 0, done
        for words in (1, 7, 22, 26):   # 3, 9, 24 and 28 tokens
            await_js(driver, f"window.staticml.embed([{json.dumps(' '.join(['word'] * words))}]).then(() => 0)")
            compiled = driver.execute_script("return window.staticml.info().last_embed.plans_compiled")
            assert compiled == (1 if words == 26 else 0), (words, compiled)

        box.clear()
        box.send_keys("   ", Keys.ENTER)
        assert driver.find_element("id", "search-meta").text == "Type a few words to search for."
        long_query = " ".join(["word"] * 300)
        with pytest.raises(chromium.JSError, match="302 tokens long and the model reads at most 256"):
            await_js(driver, f"window.staticml.search({json.dumps(long_query)}, 3)")
        with pytest.raises(chromium.JSError, match="the query is empty"):
            await_js(driver, "window.staticml.search('', 3)")
    finally:
        driver.quit()


def test_second_visit_works_offline(demo_url, profile):
    driver = chromium.make_driver(user_data_dir=profile)
    try:
        driver.get(demo_url)                                   # online once more, so the service worker controls it
        await_js(driver, "window.staticml.ready")
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                    "downloadThroughput": -1, "uploadThroughput": -1})
        driver.refresh()
        await_js(driver, SEARCH_READY)
        hits = await_js(driver, "window.staticml.search('compress a folder into a zip archive', 5)")
        assert any(h["id"].startswith(("zipfile", "shutil", "tarfile")) for h in hits), hits
    finally:
        driver.quit()


def test_a_dtype_that_was_not_built_says_so(demo_url):
    driver = open_page(f"{demo_url}?dtype=q4")
    try:
        with pytest.raises(chromium.JSError, match=r'dtype "q4" was not built; this site has: f32, q8, f16'):
            await_js(driver, "window.staticml.embed(['x'])")
        assert "was not built" in driver.find_element("id", "search-meta").text
    finally:
        driver.quit()


def test_a_calibration_picks_the_faster_backend_and_is_remembered(demo_url, tmp_path):
    """?calibrate=1 makes SwiftShader count as a real adapter: both backends run the model's real shapes at
    its first load, the faster one (the CPU kernels, here) is used, and a second visit reuses the result."""
    profile = str(tmp_path / "profile")
    for visit in (1, 2):
        driver = open_page(f"{demo_url}?dtype=q8&calibrate=1", profile)
        try:
            info = await_js(driver, "window.staticml.ready")
            assert info["backend"] == "webgpu" and info["calibration_pending"] is True
            assert "calibration" in info["backend_reason"]
            if visit == 1:   # a model loaded before the calibration goes into the backend that will lose
                on_gpu = await_js(driver, "window.staticml.loadModel('stdlib-docs')")
                sums_gpu = await_js(driver, "window.staticml.verifyModel('stdlib-docs')")   # read back from the GPU
            await_js(driver, "window.staticml.embed(['which backend runs this?'])")
            info = await_js(driver, "window.staticml.info()")
            cal = info["calibration"]
            assert info["backend"] == "wasm" == cal["winner"] and info["calibration_pending"] is False, info
            assert cal["ms"]["wasm"] < cal["ms"]["webgpu"] and cal["cached"] is (visit == 2), cal
            assert ("calibrated earlier" if visit == 2 else "calibrated on this adapter") in info["backend_reason"]
            # the loser is closed: its device and the model's buffers on it are gone, the CPU kernels stay
            assert info["closed_backend"] == "webgpu: lost the calibration", info
            held = await_js(driver, "window.staticml.memory()")
            assert held["gpu_objects"] == 0 and held["wasm_bytes"] > 50e6, held   # q8 MiniLM in wasm memory
            if visit == 1:   # ...its copy went with the GPU: verifying says so, loading it again puts it on the CPU
                with pytest.raises(JSError, match="loaded on a backend that has been closed"):
                    await_js(driver, "window.staticml.verifyModel('stdlib-docs')")
                on_cpu = await_js(driver, "window.staticml.loadModel('stdlib-docs')")
                assert on_cpu["tensors"].keys() == on_gpu["tensors"].keys()
                assert await_js(driver, "window.staticml.verifyModel('stdlib-docs')") == sums_gpu   # same bytes
            assert "CPU (WebAssembly" in driver.find_element("id", "status").text
        finally:
            driver.quit()
