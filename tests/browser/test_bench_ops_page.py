"""The ops benchmark page (`python build.py bench ops`, `bench/h100/device_run.sh bench skinny`) in headless
Chromium: matmul_throughput times each forced linear variant per shape and dtype, and reads per-dispatch GPU time
from timestamps where the device has them (SwiftShader does; a software adapter always runs main_direct, so the
forced variants fall back to it and say so). Timings are not asserted."""
import json
import threading

import pytest

from harness import chromium
from harness.chromium import await_js

pytestmark = pytest.mark.driver_timeout(300)


def test_matmul_throughput_rows_per_forced_variant_with_gpu_time(tmp_path):
    from staticml.bench.ops import PAGE, READY
    from staticml.builder.serve import make_server
    from staticml.builder.site import BuildOptions, build

    static = tmp_path / "static"
    static.mkdir()
    (static / "bench-ops.html").write_text(PAGE)
    root = build(BuildOptions(out=tmp_path / "dist", static_dir=static, log=lambda *_: None))
    server = make_server(root, 0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = chromium.make_driver()
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/bench-ops.html")
        await_js(driver, READY)
        args = {"shapes": [[16, 40, 24], [3, 9, 130]], "dtypes": ["f32", "q8"], "tiles": ["tiled", "skinny"], "repeat": 3}
        rows = await_js(driver, f"window.bench('matmul_throughput', {json.dumps(args)})")
        adapter = await_js(driver, "window.bench('adapter', {})")
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
    assert [(r["M"], r["K"], r["N"], r["dtype"]) for r in rows] == [
        (M, K, N, d) for M, K, N in args["shapes"] for d in args["dtypes"] for _ in args["tiles"]]
    assert all(r["repeat"] == 3 and r["ms"] > 0 for r in rows)
    assert {r["tile"] for r in rows} == {"direct"} and adapter["isFallbackAdapter"]   # software: always direct
    assert {r["kernel"] for r in rows} == {"linear_f32_direct32x32", "linear_q8_direct32x32"}
    if "timestamp-query" in adapter["features"]:
        assert all(r["gpu_us"] > 0 and r["gpu_gflops"] >= 0 for r in rows)
    else:
        assert not any("gpu_us" in r for r in rows)
