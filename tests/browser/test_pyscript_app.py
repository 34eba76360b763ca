"""The PyScript example app (examples/pyscript-embed), built by `build.py build --app` and opened in real
headless Chromium: the PyScript worker imports staticml and runs the GPU self-test on WebGPU, the page's
main thread stays responsive, every request (page and worker) stays on the site's origin, and the second
visit works offline (same profile, network emulated offline and the server stopped).

Chromium runs with every host but 127.0.0.1 resolving to nothing, so a fetch from a CDN would fail loudly
as well as show up in the resource lists."""
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from harness import chromium
from harness.chromium import await_js
from harness.site_server import NoHeaderRulesHandler, serving

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "pyscript-embed"
MAIN_THREAD_APP = Path(__file__).parent / "pyscript_apps" / "main_thread"
NO_ISOLATION_APP = Path(__file__).parent / "pyscript_apps" / "no_isolation"
ONLY_LOCALHOST = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

TICKER = """
  window.__maxGapMs = 0;
  let last = performance.now();
  setInterval(() => { const now = performance.now(); window.__maxGapMs = Math.max(window.__maxGapMs, now - last); last = now; }, 20);
"""
# Resolves to body[data-state] once the app leaves "booting" (its Python sets "ready" or "failed"), or to
# PyScript's error box text if Python raised, or to "timeout" after 110 s (Selenium gives up on a script after 120 s).
SETTLED = """new Promise(r => { const t0 = Date.now(); const t = setInterval(() => {
  const s = document.body.dataset.state, err = document.querySelector('.py-error');
  const v = err ? 'error: ' + err.textContent : s !== 'booting' ? s : Date.now() - t0 > 110000 ? 'timeout' : null;
  if (v) { clearInterval(t); r(v); } }, 100); })"""
WORKER = "document.querySelector('script[type=py][worker]').xworker"


def build_app(app: Path, out: Path, models=()) -> Path:
    from staticml.builder.site import BuildOptions, build

    return build(BuildOptions(out=out, app_dir=app, models=list(models), log=lambda *_: None))


@pytest.fixture(scope="module")
def example_site(tmp_path_factory) -> Path:
    from staticml.builder.demo import demo_model

    return build_app(EXAMPLE, tmp_path_factory.mktemp("pyscript-example") / "dist", [demo_model("f32", lambda *_: None)])


def _off_origin(urls: list[str], origin: str) -> list[str]:
    return [u for u in urls if not u.startswith(origin + "/")]


def _all_requests(driver) -> list[str]:
    page = driver.execute_script("return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)]")
    return page + json.loads(await_js(driver, f"{WORKER}.sync.requests()"))


def test_worker_runs_staticml_on_webgpu_stays_on_origin_and_works_offline(example_site, tmp_path):
    profile = str(tmp_path / "profile")
    with serving(example_site) as url:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        driver = chromium.make_driver(extra_flags=ONLY_LOCALHOST, user_data_dir=profile)
        try:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TICKER})
            driver.get(url)
            assert await_js(driver, SETTLED) == "ready", driver.find_element("id", "status").text
            assert driver.execute_script("return crossOriginIsolated") is True   # worker DOM access needs it

            report = json.loads(await_js(driver, f"{WORKER}.sync.report()"))
            assert report["staticml"] == "0.1.0" and report["pyodide"] == "314.0.7"   # the site's own Pyodide
            assert report["backend"] == "webgpu" and report["adapter"]["architecture"] == "swiftshader"
            assert report["selftest"]["ok"] is True and report["selftest"]["max_abs_err"] < 1e-4
            assert driver.find_element("id", "selftest").text.startswith("passed (max abs error")
            assert driver.find_element("id", "adapter").text.startswith("webgpu on ")

            # Python boots in the worker: the page's 20 ms timer never stalls for long (1 s slack, 2 busy cores).
            assert driver.execute_script("return window.__maxGapMs") < 1000

            urls = _all_requests(driver)
            assert _off_origin(urls, origin) == [], f"requests left {origin}"
            for needed in ("pyodide.asm.wasm", "python_stdlib.zip", "/pyodide-lock.json", ".whl",
                           "/core.js", "/assets/pyodide-pyscript.", "/assets/gpu_glue.", "/similarity.py"):
                assert any(needed in u for u in urls), f"{needed} was not fetched: {urls}"

            # The service worker holds the app shell before the second visit.
            await_js(driver, "navigator.serviceWorker.ready.then(() => caches.keys()).then(k => k.length)")
            cached = await_js(driver, "caches.keys().then(ks => caches.open(ks[0])).then(c => c.keys())"
                                      ".then(rs => rs.map(r => r.url))")
            assert any(u.endswith("/similarity.py") for u in cached) and any(u.endswith(".whl") for u in cached)
        finally:
            driver.quit()

    # Second visit: same profile, the server is gone, the network is emulated offline, and the HTTP cache is
    # emptied (it would otherwise answer for the immutable assets): only the service worker's cache can serve.
    driver = chromium.make_driver(extra_flags=ONLY_LOCALHOST, user_data_dir=profile)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        driver.get(url)
        assert await_js(driver, SETTLED) == "ready", driver.find_element("id", "status").text
        assert json.loads(await_js(driver, f"{WORKER}.sync.report()"))["selftest"]["ok"] is True
        assert _off_origin(_all_requests(driver), origin) == []
    finally:
        driver.quit()


def test_compare_button_computes_the_native_similarity(example_site):
    """The click runs in the worker (PyScript's DOM proxy): MiniLM on WebGPU there gives the cosine that
    staticml's native pipeline (numpy references) gives for the same two sentences."""
    import asyncio

    import numpy as np

    from staticml.builder.models import model_cache
    from staticml.pipelines import pipeline

    a, b = "A man is playing a guitar on stage.", "Someone performs music with a guitar."
    native = asyncio.run(pipeline("feature-extraction", model_cache().default_model_folder()))
    ea, eb = np.asarray(asyncio.run(native.encode([a, b])))
    want = float(ea @ eb)
    with serving(example_site) as url:
        driver = chromium.make_driver(extra_flags=ONLY_LOCALHOST)
        try:
            driver.get(url)
            assert await_js(driver, SETTLED) == "ready"
            for field, text in (("a", a), ("b", b)):
                driver.find_element("id", field).clear()
                driver.find_element("id", field).send_keys(text)
            driver.find_element("id", "compare").click()
            text = await_js(driver, "new Promise(r => { const t = setInterval(() => { const s = document"
                                    ".getElementById('result').textContent; if (s && s !== 'computing…') { clearInterval(t); r(s); } }, 50); })")
            assert text == f"similarity {want:.4f}", (text, want)
            got = await_js(driver, f"{WORKER}.sync.similarity({json.dumps(a)}, {json.dumps(b)})")
            assert abs(got - want) < 1e-4, (got, want)   # f32 on the GPU vs float64-accumulated references
            with pytest.raises(chromium.JSError, match="is empty"):
                await_js(driver, f"{WORKER}.sync.similarity('', 'b')")
        finally:
            driver.quit()


def test_main_thread_script_imports_staticml_and_uses_webgpu(tmp_path):
    site = build_app(MAIN_THREAD_APP, tmp_path / "dist")
    assert "Cross-Origin-Embedder-Policy" not in (site / "_headers").read_text()  # no worker: no isolation needed
    with serving(site) as url:
        driver = chromium.make_driver(extra_flags=ONLY_LOCALHOST)
        try:
            driver.get(url)
            assert await_js(driver, SETTLED) == "ready"
            out = json.loads(driver.find_element("id", "out").text)
            assert out == {"greeting": "hello from helper.py", "selftest_ok": True, "architecture": "swiftshader"}
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
            page = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
            assert any("pyodide.asm.wasm" in u for u in page) and _off_origin(page, origin) == []
        finally:
            driver.quit()


def test_without_isolation_headers_the_page_can_still_call_worker_python(tmp_path):
    """The documented fallback for a page that is not cross-origin isolated (a host that cannot send COOP/COEP,
    before the service worker has isolated the page): the worker does not touch the DOM; the page calls its
    exported functions, which needs no SharedArrayBuffer. Here the service worker's reload is held off (as
    after a reload that did not isolate), so the page stays unisolated."""
    site = build_app(NO_ISOLATION_APP, tmp_path / "dist")
    assert "Cross-Origin-Embedder-Policy" in (site / "_headers").read_text()
    with serving(site, handler_base=NoHeaderRulesHandler) as url:
        driver = chromium.make_driver(extra_flags=ONLY_LOCALHOST)
        try:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                   {"source": 'sessionStorage.setItem("staticml-isolation-reload", "1")'})
            driver.get(url)
            assert await_js(driver, SETTLED) == "ready", driver.find_element("id", "out").text
            assert driver.execute_script("return crossOriginIsolated") is False
            assert json.loads(driver.find_element("id", "out").text) == {"ok": True, "architecture": "swiftshader"}
        finally:
            driver.quit()


def test_on_a_host_without_header_rules_the_service_worker_isolates_a_worker_app(example_site):
    """The example's worker drives the DOM, which needs isolation. Served with no COOP/COEP at all, the first
    visit reloads itself once the service worker controls it (site/sw_register.js), and the app then runs
    isolated: the worker's self-test on WebGPU shows on the page."""
    with serving(example_site, handler_base=NoHeaderRulesHandler) as url:
        driver = chromium.make_driver(extra_flags=ONLY_LOCALHOST)
        try:
            driver.get(url)
            WebDriverWait(driver, 90, poll_frequency=0.2).until(lambda d: d.execute_script("return crossOriginIsolated"))
            assert driver.execute_script('return performance.getEntriesByType("navigation")[0].type') == "reload"
            assert await_js(driver, SETTLED) == "ready", driver.find_element("id", "status").text
            assert json.loads(await_js(driver, f"{WORKER}.sync.report()"))["selftest"]["ok"] is True
            assert driver.find_element("id", "selftest").text.startswith("passed (max abs error")
        finally:
            driver.quit()
