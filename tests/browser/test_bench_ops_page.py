"""The ops benchmark page (`python build.py bench ops`, `bench/h100/device_run.sh bench skinny`) in headless
Chromium: matmul_throughput times each forced linear variant per shape and dtype, and reads per-dispatch GPU time
from timestamps where the device has them (SwiftShader does; a software adapter always runs main_direct, so the
forced variants fall back to it and say so). Timings are not asserted."""
import pytest

from harness import chromium

pytestmark = pytest.mark.driver_timeout(300)


def test_matmul_throughput_rows_per_forced_variant_with_gpu_time(tmp_path):
    from staticml.bench.ops import ops_page

    args = {"shapes": [[16, 40, 24], [3, 9, 130]], "dtypes": ["f32", "q8"], "tiles": ["tiled", "skinny"], "repeat": 3}
    with ops_page(tmp_path, chromium) as call:
        rows = call("matmul_throughput", args)
        adapter = call("adapter", {})
    assert [(r["M"], r["K"], r["N"], r["dtype"]) for r in rows] == [
        (M, K, N, d) for M, K, N in args["shapes"] for d in args["dtypes"] for _ in args["tiles"]]
    assert all(r["repeat"] == 3 and r["ms"] > 0 for r in rows)
    assert {r["tile"] for r in rows} == {"direct"} and adapter["isFallbackAdapter"]   # software: always direct
    assert {r["kernel"] for r in rows} == {"linear_f32_direct32x32", "linear_q8_direct32x32"}
    if "timestamp-query" in adapter["features"]:
        assert all(r["gpu_us"] > 0 and r["gpu_gflops"] >= 0 for r in rows)
    else:
        assert not any("gpu_us" in r for r in rows)
