"""A build made with `--cross-origin-isolated`, served by a host that takes no header rules (GitHub Pages, a
plain file server: no COOP/COEP on any response). The service worker adds COOP/COEP to what it serves, the
first visit reloads itself once when the worker has taken control (site/sw_register.js), and from then on
the page is cross-origin isolated: the CPU kernels run on every core, online and offline. The same host with a
build made without isolation never reloads, and the kernels run on one thread and say why."""
import urllib.request

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from cache_site import build_site, converted_tiny, manifest_of
from harness.chromium import await_js, make_driver
from harness.site_server import ISOLATION_HEADERS, NoHeaderRulesHandler, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return converted_tiny(tmp_path_factory.mktemp("iso-model"), seed=3, dtype="f32", model_id="tiny")


def page_state(driver) -> dict:
    return driver.execute_script("""return {isolated: self.crossOriginIsolated, marker: window.__testMarker === 1,
        navigation: performance.getEntriesByType("navigation")[0].type,
        reloadFlag: sessionStorage.getItem("staticml-isolation-reload"),
        controlled: Boolean(navigator.serviceWorker.controller)};""")


def cpu_info(driver) -> dict:
    """Loads the tiny model (SwiftShader here, so the CPU kernels run it) and returns info()."""
    await_js(driver, 'window.staticml.ready.then(() => window.staticml.loadModel("tiny")).then(() => true)')
    info = await_js(driver, "Promise.resolve(window.staticml.info())")
    assert info["backend"] == "wasm", info["backend_reason"]
    return info


def test_an_isolated_build_on_a_host_without_header_rules_isolates_itself_after_one_reload(tiny, tmp_path):
    site = build_site(tmp_path / "dist", [tiny], isolated=True)
    driver = make_driver(user_data_dir=str(tmp_path / "profile"))
    try:
        with serving(site, handler_base=NoHeaderRulesHandler) as url:
            with urllib.request.urlopen(url) as r:   # the host really sends no COOP/COEP
                assert not {h.lower() for h in r.headers} & set(ISOLATION_HEADERS)
            driver.get(url)
            # the first page is not isolated; once the worker controls it, it reloads itself, once
            WebDriverWait(driver, 90, poll_frequency=0.2).until(lambda d: page_state(d)["isolated"])
            state = page_state(driver)
            assert state["navigation"] == "reload" and state["controlled"] and state["reloadFlag"] is None
            info = cpu_info(driver)
            assert info["cpu"]["threads"] > 1 and info["cpu"]["variant"].endswith("-threads"), info["cpu"]
            # what the worker serves carries the pair, down to the model's shards from IndexedDB
            _, manifest = manifest_of(site, "tiny")
            got = await_js(driver, f"""Promise.all(["./", "./models/tiny/{manifest['shards'][0]['file']}"].map((u) =>
                fetch(u).then((r) => [r.headers.get("Cross-Origin-Opener-Policy"),
                                      r.headers.get("Cross-Origin-Embedder-Policy")])))""")
            assert got == [["same-origin", "require-corp"]] * 2
            # a later visit is isolated from the start: no reload
            driver.execute_script("window.__testMarker = 1")
            driver.get(url)
            WebDriverWait(driver, 30, poll_frequency=0.2).until(lambda d: d.execute_script("return Boolean(window.staticml)"))
            state = page_state(driver)
            assert state["isolated"] and state["navigation"] == "navigate"
        # offline (nothing listens any more, and DevTools offline): still isolated, still 2 threads
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                               {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        driver.get(url)
        WebDriverWait(driver, 30, poll_frequency=0.2).until(lambda d: d.execute_script("return Boolean(window.staticml)"))
        assert page_state(driver)["isolated"]
        assert cpu_info(driver)["cpu"]["threads"] > 1
    finally:
        driver.quit()


def test_a_build_without_isolation_on_the_same_host_never_reloads(tiny, tmp_path):
    site = build_site(tmp_path / "dist", [tiny], isolated=False)
    driver = make_driver()
    try:
        with serving(site, handler_base=NoHeaderRulesHandler) as url:
            driver.get(url)
            driver.execute_script("window.__testMarker = 1")
            WebDriverWait(driver, 90, poll_frequency=0.2).until(lambda d: page_state(d)["controlled"])
            info = cpu_info(driver)   # after the worker took control, and a model load later: the same page
            state = page_state(driver)
            assert state["marker"] and state["navigation"] == "navigate" and not state["isolated"]
            assert info["cpu"]["threads"] == 1
            assert any("not cross-origin isolated" in r for r in info["cpu"]["reasons"]), info["cpu"]
            got = await_js(driver, 'fetch("./").then((r) => r.headers.get("Cross-Origin-Embedder-Policy"))')
            assert got is None
    finally:
        driver.quit()
