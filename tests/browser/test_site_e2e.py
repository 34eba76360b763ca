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

    assert info["backend"] == "webgpu"
    assert info["staticml"] == "0.1.0" and info["pyodide"] == "314.0.7"
    assert set(info["adapter"]) == {"vendor", "architecture", "description", "isFallbackAdapter"}
    assert info["adapter"]["architecture"] == "swiftshader"  # what this machine's Chromium gives
    for phase in ("pyodide_ms", "packages_ms", "device_ms"):
        assert info["timings"][phase] > 0
    assert "backend webgpu" in browser.find_element("id", "status").text

    result = await_js(browser, "window.staticml.selftest()")
    assert result["ok"] is True and result["max_abs_err"] < 1e-4

    # Pyodide boots in the worker, so the page's main thread keeps ticking (a 20 ms timer, 1 s slack
    # for a loaded 2-core machine; a boot on the main thread blocks it for seconds).
    assert browser.execute_script("return window.__maxGapMs") < 1000

    urls = await_js(browser, "window.staticml.requests()")
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(served))
    assert any("pyodide.asm.wasm" in u for u in urls) and any(u.endswith(".whl") for u in urls)
    foreign = [u for u in urls if not u.startswith(origin + "/")]
    assert foreign == [], f"requests left the origin {origin}: {foreign}"


def test_selftest_button_shows_the_result(served, browser):
    browser.get(served)
    await_js(browser, "window.staticml.ready")
    browser.find_element("id", "selftest").click()
    await_js(browser, "new Promise(r => { const t = setInterval(() => { if (!document.getElementById('selftest-result')"
                      ".textContent.includes('running')) { clearInterval(t); r(); } }, 50); })")
    assert browser.find_element("id", "selftest-result").text.startswith("passed (max abs error")


def test_a_browser_without_a_webgpu_adapter_gets_a_clear_message(served):
    driver = chromium.make_driver(webgpu=False)  # Chromium on Linux: navigator.gpu exists, no adapter
    try:
        driver.get(served)
        with pytest.raises(JSError, match="no GPU adapter was granted"):
            await_js(driver, "window.staticml.ready")
        status = driver.find_element("id", "status").text
        assert status.startswith("Error: WebGPU is present but no GPU adapter") and "Traceback" not in status
        assert driver.find_element("tag name", "body").get_attribute("data-state") == "failed"
    finally:
        driver.quit()
