"""The built site end to end: `build.py serve` in a subprocess, the page in real headless Chromium."""
import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from harness import chromium
from harness.chromium import JSError, await_js

REPO_BUILD_PY = str((__import__("pathlib").Path(__file__).resolve().parents[2] / "build.py"))

# Records the longest gap between 20 ms timer ticks on the page's main thread, from the first byte on.
TICKER = """
  window.__maxGapMs = 0;
  let last = performance.now();
  setInterval(() => { const now = performance.now(); window.__maxGapMs = Math.max(window.__maxGapMs, now - last); last = now; }, 20);
"""


@pytest.fixture(scope="module")
def served(built_site):
    """`python build.py serve --port 0` over the built site; yields its URL."""
    proc = subprocess.Popen([sys.executable, REPO_BUILD_PY, "serve", "--dir", str(built_site), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield json.loads(proc.stdout.readline())["url"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_page_boots_runs_selftest_and_stays_on_its_origin(served, browser):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TICKER})
    browser.get(served)
    info = await_js(browser, "window.staticml.ready")

    # auto on SwiftShader (a software adapter): the WebAssembly SIMD kernels run, and the page says why
    assert info["backend"] == "wasm" and "software emulation (swiftshader)" in info["backend_reason"]
    assert info["cpu"]["variant"] in ("relaxed", "simd128") and info["cpu"]["threads"] == 1   # not isolated
    assert info["staticml"] == "0.1.0" and info["pyodide"] == "314.0.7"
    assert set(info["adapter"]) == {"vendor", "architecture", "description", "isFallbackAdapter"}
    assert info["adapter"]["architecture"] == "swiftshader"  # what this machine's Chromium gives
    for phase in ("pyodide_ms", "packages_ms", "device_ms"):
        assert info["timings"][phase] > 0
    assert browser.find_element("id", "status").text.startswith("Ready: CPU (WebAssembly")
    assert "software emulation" in browser.find_element("id", "backend-reason").text
    held = await_js(browser, "window.staticml.memory()")   # the SwiftShader device it does not use is closed
    assert held["gpu_objects"] == 0 and held["wasm_bytes"] > 0, held

    result = await_js(browser, "window.staticml.selftest()")
    assert result["ok"] is True and result["max_abs_err"] < 1e-4

    # Pyodide boots in the worker, so the page's main thread keeps ticking (a 20 ms timer, 1 s slack
    # for a loaded 2-core machine; a boot on the main thread blocks it for seconds).
    assert browser.execute_script("return window.__maxGapMs") < 1000

    urls = await_js(browser, "window.staticml.requests()")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(served))
    assert any("pyodide.asm.wasm" in u for u in urls) and any(u.endswith(".whl") for u in urls)
    assert any("/assets/kernels-" in u and u.endswith(".wasm") for u in urls)
    foreign = [u for u in urls if not u.startswith(origin + "/")]
    assert foreign == [], f"requests left the origin {origin}: {foreign}"


def test_selftest_button_shows_the_result(served, browser):
    browser.get(served)
    await_js(browser, "window.staticml.ready")
    browser.find_element("id", "selftest").click()
    await_js(browser, "new Promise(r => { const t = setInterval(() => { if (!document.getElementById('selftest-result')"
                      ".textContent.includes('running')) { clearInterval(t); r(); } }, 50); })")
    assert browser.find_element("id", "selftest-result").text.startswith("passed (max abs error")


@pytest.mark.parametrize("forced", ["webgpu", "wasm"])
def test_a_forced_backend_runs_and_says_so(served, browser, forced):
    browser.get(f"{served}?backend={forced}")
    info = await_js(browser, "window.staticml.ready")
    assert info["backend"] == forced and info["backend_reason"] == f"forced by ?backend={forced}"
    result = await_js(browser, "window.staticml.selftest()")
    assert result["ok"] is True and result["backend"] == forced
    label = {"webgpu": "Ready: WebGPU on ", "wasm": "Ready: CPU (WebAssembly"}[forced]
    assert browser.find_element("id", "status").text.startswith(label)


def test_an_unknown_backend_is_a_clear_error(served, browser):
    browser.get(f"{served}?backend=cuda")
    with pytest.raises(JSError, match="backend 'cuda' is not one of auto, webgpu, wasm"):
        await_js(browser, "window.staticml.ready")
    assert browser.find_element("tag name", "body").get_attribute("data-state") == "failed"


def test_a_browser_without_a_webgpu_adapter_boots_on_the_cpu_with_a_notice(served):
    driver = chromium.make_driver(webgpu=False)  # Chromium on Linux: navigator.gpu exists, no adapter
    try:
        driver.get(served)
        info = await_js(driver, "window.staticml.ready")
        assert info["backend"] == "wasm"
        assert info["backend_reason"].startswith("no usable WebGPU in this browser")
        assert "no GPU adapter was granted" in info["backend_reason"]
        assert driver.find_element("id", "status").text.startswith("Ready: CPU (WebAssembly")
        assert "no usable WebGPU" in driver.find_element("id", "backend-reason").text
        assert await_js(driver, "window.staticml.selftest()")["ok"] is True

        driver.get(f"{served}?backend=webgpu")   # forcing what is not there: a clear error, no traceback
        with pytest.raises(JSError, match=r"\?backend=webgpu was asked for, but WebGPU is present but no GPU adapter"):
            await_js(driver, "window.staticml.ready")
        status = driver.find_element("id", "status").text
        assert status.startswith("Error: ?backend=webgpu was asked for") and "Traceback" not in status
        assert driver.find_element("tag name", "body").get_attribute("data-state") == "failed"
    finally:
        driver.quit()
