"""Start Debian's headless Chromium with WebGPU (SwiftShader here) through Selenium, offline.

The flags are the ones ENV.md verified; without the networking ones Chromium hammers the closed
network. Selenium is told where Chromium and ChromeDriver are so it never tries to download them.
"""
import os
import shutil
import tempfile

CHROMIUM = os.environ.get("STATICML_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("STATICML_CHROMEDRIVER", "/usr/bin/chromedriver")

BASE_FLAGS = ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--disable-quic", "--disable-dev-shm-usage"]
WEBGPU_FLAGS = ["--enable-unsafe-webgpu"]

# pytest-pyodide and Selenium Manager read these; set once, before any driver starts.
os.environ.setdefault("SE_OFFLINE", "true")
os.environ.setdefault("SE_BROWSER_PATH", CHROMIUM)
os.environ.setdefault("SE_CHROMEDRIVER", CHROMEDRIVER)


def make_driver(webgpu: bool = True, extra_flags=(), user_data_dir: str | None = None):
    """A fresh headless Chromium; `user_data_dir` reuses a profile (for second visits), and its caller owns it.

    Without one, the driver gets a temporary profile that `driver.quit()` deletes: a profile holds the page's
    IndexedDB (model weights) and caches, 30-250 MB, and a test run opens a few hundred of them."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    own_profile = None if user_data_dir else tempfile.mkdtemp(prefix="staticml-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ["--headless=new", *BASE_FLAGS, *(WEBGPU_FLAGS if webgpu else []), *extra_flags]:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={user_data_dir or own_profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    except BaseException:
        if own_profile:
            shutil.rmtree(own_profile, ignore_errors=True)
        raise
    if own_profile:
        _delete_on_quit(driver, own_profile)
    driver.set_script_timeout(600)
    driver.command_executor._client_config.timeout = 660  # Selenium's HTTP wait must outlast the script timeout
    return driver


def _delete_on_quit(driver, profile: str) -> None:
    """Make `driver.quit()` also delete `profile` (after Chromium has exited, so nothing writes to it)."""
    quit_browser = driver.quit

    def quit_and_delete_profile():
        try:
            quit_browser()
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_delete_profile


def await_js(driver, expression: str):
    """Evaluate a JS expression that yields a Promise; return its value or raise with its error."""
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        f"Promise.resolve().then(() => ({expression}))"
        ".then(v => done({ok: true, value: v}), e => done({ok: false, error: String(e && e.message || e)}));")
    if not result["ok"]:
        raise JSError(result["error"])
    return result["value"]


class JSError(Exception):
    """A rejected promise in the page; the message is the page's own."""
