"""Measure the model cache in headless Chromium: boot, download+verify+store, upload from IndexedDB to
GPU buffers, and the read-back check, for all-MiniLM-L6-v2 in q8 and f32. Prints JSON lines and a
table. Run from the repo root: `python tests/browser/bench_cache_load.py` (timings are noisy here)."""
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parents[1] / "py_src")]

from cache_site import build_site, faulty_server, manifest_of, model_cache  # noqa: E402
from harness.chromium import await_js, make_driver  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="staticml-bench-") as tmp:   # two converted models and a site
        rows = measure(Path(tmp))
    print(f"{'model':<12} {'MiB':>6} {'download+store s':>17} {'upload s':>9} {'read-back s':>12}")
    for r in rows:
        print(f"{r['model']:<12} {r['mib']:>6} {r['download_store_s']:>17} {r['upload_s']:>9} {r['readback_check_s']:>12}")


def measure(tmp: Path) -> list:
    """One JSON row per model, printed as it comes."""
    ids, models = [], []
    for dtype in ("q8", "f32"):
        ids.append(f"minilm-{dtype}")
        models.append(tmp / ids[-1])
        model_cache.convert(model_cache.ConvertOptions(folder=model_cache.default_model_folder(), out=models[-1],
                                                       dtype=dtype, model_id=ids[-1], stderr=open("/dev/null", "w")))
    site = build_site(tmp / "dist", models)
    rows = []
    with faulty_server(site) as (url, _, _):
        driver = make_driver()
        try:
            driver.get(url)
            t = time.perf_counter()
            await_js(driver, "window.staticml.ready")
            boot = time.perf_counter() - t
            for model_id in ids:
                timings = {}
                for step, js in (("download_store_s", "downloadModel"), ("upload_s", "loadModel"),
                                 ("readback_check_s", "verifyModel")):
                    t = time.perf_counter()
                    result = await_js(driver, f"window.staticml.{js}({json.dumps(model_id)})")
                    timings[step] = round(time.perf_counter() - t, 2)
                folder, manifest = manifest_of(site, model_id)
                same = all(result[n] == hashlib.sha256(model_cache.tensor_bytes(folder, manifest, n)).hexdigest()
                           for n in result)
                rows.append({"model": model_id, "mib": round(manifest["total_bytes"] / 2**20, 1),
                             "shards": len(manifest["shards"]), "boot_s": round(boot, 2), **timings,
                             "gpu_bytes_equal_manifest": same})
                print(json.dumps(rows[-1]))
        finally:
            driver.quit()
    return rows


if __name__ == "__main__":
    main()
