"""A download cut after k shards resumes with exactly the missing ones; wrong bytes and an index.html
served with 200 in place of a shard are rejected, never stored, and named; too small a quota is a
clear error before anything is downloaded; a new model version evicts the old version's shards.

These tests never wait for Python: the model cache works while Pyodide still boots."""
import json
import os
import shutil

import pytest

from cache_site import blob_shas, build_site, converted_tiny, faulty_server, idb_keys, manifest_of, shell_version
from harness.chromium import JSError, await_js, make_driver

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """v1 and v2 of model "tiny" (other weights, the same tokenizer), each built into its own site."""
    tmp = tmp_path_factory.mktemp("cache-faults")
    return (build_site(tmp / "v1", [converted_tiny(tmp, seed=1)]),
            build_site(tmp / "v2", [converted_tiny(tmp, seed=2)]))


@pytest.fixture
def driver():
    d = make_driver()
    yield d
    d.quit()


def download(driver, model_id="tiny"):
    return await_js(driver, f"window.staticml.downloadModel({json.dumps(model_id)})")


def download_error(driver, model_id="tiny") -> str:
    with pytest.raises(JSError) as e:
        download(driver, model_id)
    return str(e.value)


def test_a_cut_download_resumes_fetching_only_the_missing_shards(sites, driver):
    site = sites[0]
    _, manifest = manifest_of(site, "tiny")
    with faulty_server(site) as (url, faults, _):
        faults.cut_after = 3
        driver.get(url)
        message = download_error(driver)
        first = faults.model_requests()
        stored = first[:3]
        assert f"shard {first[3]} of model tiny: the download broke off" in message, message
        shas = {s["file"]: s["sha256"] for s in manifest["shards"]} | {
            f["file"]: f["sha256"] for f in manifest["files"].values()}
        assert idb_keys(driver) == {shas[f] for f in stored}
        state = await_js(driver, "window.staticml.cacheState()")["models"]["tiny"]
        assert state["complete"] is False and state["blobs_present"] == 3

        faults.cut_after = None
        before = len(faults.log)
        driver.execute_script("""window.__progress = [];
            window.addEventListener("staticml:progress", (e) => window.__progress.push(e.detail));""")
        result = download(driver)
        events = driver.execute_script("return window.__progress")
        sizes = {s["file"]: s["nbytes"] for s in manifest["shards"]} | {f["file"]: f["nbytes"] for f in manifest["files"].values()}
        total = sum(sizes.values())
        # bytes done / total: starts at what was already stored, one step per file, ends complete
        assert [e["done"] for e in events] == [sum(sizes[f] for f in stored) + sum(
            sizes[f] for f in faults.model_requests(before)[:i]) for i in range(len(events))]
        assert {e["total"] for e in events} == {total} and events[-1]["done"] == total and events[0]["model"] == "tiny"
        assert sorted(faults.model_requests(before)) == sorted(set(shas) - set(stored))   # exactly the missing ones
        assert result["from_cache"] == 3 and sorted(result["fetched"]) == sorted(set(shas) - set(stored))
        assert idb_keys(driver) == blob_shas(manifest)
        assert await_js(driver, "window.staticml.cacheState()")["models"]["tiny"]["complete"] is True


def test_wrong_bytes_and_an_html_page_in_place_of_a_shard_are_rejected(sites, driver):
    site = sites[0]
    _, manifest = manifest_of(site, "tiny")
    bad, html = manifest["shards"][2], manifest["shards"][5]
    with faulty_server(site) as (url, faults, _):
        faults.corrupt, faults.html_for = {bad["file"]}, {html["file"]}
        driver.get(url)
        message = download_error(driver)
        assert f"shard {bad['file']} of model tiny: the bytes received do not match the manifest" in message
        assert f"shard {html['file']} of model tiny: the bytes received do not match the manifest" in message
        assert "The server sent an HTML page instead" in message.split(html["file"])[1]
        assert "2 of 12 downloads failed" in message
        assert idb_keys(driver) == blob_shas(manifest) - {bad["sha256"], html["sha256"]}
        assert await_js(driver, "window.staticml.cacheState()")["models"]["tiny"]["complete"] is False

        faults.corrupt, faults.html_for = set(), set()
        before = len(faults.log)
        download(driver)
        assert sorted(faults.model_requests(before)) == sorted([bad["file"], html["file"]])
        assert idb_keys(driver) == blob_shas(manifest)


@pytest.mark.parametrize("estimate_reports_quota", [True, False], ids=["estimate-sees-quota", "static-quota"])
def test_too_small_a_quota_is_a_clear_error_and_nothing_is_complete(sites, estimate_reports_quota):
    """Chromium normally reports estimate().quota as usage + 10 GiB (its StaticStorageQuota anti-fingerprinting
    feature), so the pre-download check cannot see a small quota; with that feature off it can. Either way the
    person gets a clear error and the model is not complete; with an honest estimate nothing is downloaded."""
    site = sites[0]
    _, manifest = manifest_of(site, "tiny")
    flags = ["--disable-features=StaticStorageQuota"] if estimate_reports_quota else []
    driver = make_driver(extra_flags=flags)
    try:
        with faulty_server(site) as (url, faults, _):
            driver.get(url)
            await_js(driver, "navigator.serviceWorker.ready")   # the app shell is cached: usage is what it will be
            usage = await_js(driver, "navigator.storage.estimate().then((e) => e.usage)")
            origin = url.rstrip("/")
            driver.execute_cdp_cmd("Storage.overrideQuotaForOrigin", {"origin": origin, "quotaSize": usage + 150_000})
            # the person clicks the model's download button; the error shows in that row
            driver.find_element("css selector", '[data-model="tiny"] button').click()
            await_js(driver, """new Promise((resolve) => { const t = setInterval(() => {
                if (document.querySelector('[data-model="tiny"]').dataset.error) { clearInterval(t); resolve(); } }, 100); })""")
            text = driver.find_element("css selector", '[data-model="tiny"] .model-status').text
            assert text.startswith("error: not enough storage for model tiny: "), text
            state = await_js(driver, "window.staticml.cacheState()")["models"]["tiny"]
            assert state["complete"] is False
            if estimate_reports_quota:
                assert "it needs 0.5 MiB more" in text and "Nothing was downloaded." in text, text
                assert faults.model_requests() == [] and idb_keys(driver) == set()
            else:   # found out on a write: it stops at the first refusal, keeps what fit, says what to do
                assert "quota exceeded" in text and "the model is not complete" in text, text
                assert 0 < len(idb_keys(driver)) < len(blob_shas(manifest)) == 12
                assert len(faults.model_requests()) == len(idb_keys(driver)) + 1
            # the page still works: Python boots and runs its GPU self-test
            assert await_js(driver, "window.staticml.ready.then(() => window.staticml.selftest())")["ok"] is True
            driver.execute_cdp_cmd("Storage.overrideQuotaForOrigin", {"origin": origin})   # back to the real quota
            download(driver)
            assert idb_keys(driver) == blob_shas(manifest)
    finally:
        driver.quit()


def test_a_new_model_version_evicts_the_old_versions_shards(sites, driver, tmp_path):
    v1, v2 = sites
    _, m1 = manifest_of(v1, "tiny")
    _, m2 = manifest_of(v2, "tiny")
    shared = blob_shas(m1) & blob_shas(m2)
    assert len(shared) == 3   # the tokenizer and pooling files are the same; every shard differs
    root = shutil.copytree(v1, tmp_path / "site")
    with faulty_server(root) as (url, faults, _):
        driver.get(url)
        await_js(driver, "navigator.serviceWorker.ready")
        download(driver)
        assert idb_keys(driver) == blob_shas(m1)
        assert await_js(driver, "window.staticml.cacheState()")["service_worker"]["version"] == shell_version(v1)

        # Deploy v2 over v1 (same origin) with v1's mtimes: two quick builds share a second (the fixture builds
        # v1 and v2 about 0.8 s apart on an idle machine), and a copy that keeps mtimes or a rollback can even go
        # back in time. The server must still serve the new sw.js to Chromium's If-Modified-Since update check.
        shutil.rmtree(root)
        shutil.copytree(v2, root)
        old = (v1 / "sw.js").stat().st_mtime
        for path in root.rglob("*"):
            os.utime(path, (old, old))
        # The page is still v1's (the old worker serves it); the navigation makes Chromium check sw.js, and v2's
        # worker installs and activates, evicting v1's shards before it answers with v2's version.
        driver.get(url)
        sw = await_js(driver, f"""new Promise((resolve, reject) => {{
            const stop = Date.now() + 60000;
            const poll = () => window.staticml.serviceWorker().then((sw) => {{
                if (sw && sw.version === {json.dumps(shell_version(v2))}) resolve(sw);
                else if (Date.now() > stop) reject(new Error("no v2 service worker after 60 s: " + JSON.stringify(sw)));
                else setTimeout(poll, 250);
            }}, reject);
            poll();
        }})""")
        assert sw["activation"] == {"caches_deleted": 1, "evicted": {"blobs": len(blob_shas(m1) - shared)}}, sw
        assert idb_keys(driver) == shared   # v1's shards are gone, the files v2 shares are kept

        driver.get(url)   # now served by the new service worker: the page knows only v2
        assert await_js(driver, "Promise.resolve(JSON.parse(document.getElementById('staticml-config').textContent)"
                                ".models[0].manifest)").endswith(m2_name(v2))
        before = len(faults.log)
        result = download(driver)
        assert sorted(faults.model_requests(before)) == sorted(s["file"] for s in m2["shards"])
        assert result["from_cache"] == 3
        assert idb_keys(driver) == blob_shas(m2)


def m2_name(site) -> str:
    (path,) = (site / "models" / "tiny").glob("manifest.*.json")
    return path.name
