"""bench/ort_web.py compares like with like: in one headless Chromium page, ONNX Runtime Web's wasm backend on
the ONNX export of all-MiniLM-L6-v2 and staticml's CPU kernels on the same model both give sentence-transformers'
embeddings (so the bench times the same model on both sides), on the thread count asked for, and the JSON and
table hold every case. Timings are not asserted (bench/README.md)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def test_both_engines_embed_like_sentence_transformers_in_one_page(tmp_path):
    out = tmp_path / "ort.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "ort_web.py"), "--dtypes", "f32,q8", "--threads", "2",
                           "--rounds", "1", "--reps", "1", "--warmup", "1", "--gap-ms", "30", "--json", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    r = json.loads(out.read_text())
    cases = {"short_1", "batch_8", "batch_32", "passage_250"}
    assert [row["dtype"] for row in r["rows"]] == ["f32", "q8"]
    for row in r["rows"]:
        assert row["threads"] == 2 and row["staticml_cpu"]["threads"] == 2 and row["cross_origin_isolated"] is True
        assert set(row["accuracy"]) == set(row["latency"]) == set(row["staticml_vs_ort"]) == cases
        for case, acc in row["accuracy"].items():
            if row["dtype"] == "f32":   # the same f32 model on both sides: the f32 bar
                assert acc["staticml_min_cosine"] >= 0.9999 and acc["ort_min_cosine"] >= 0.9999, (case, acc)
            else:   # staticml's q8 holds its bar; ONNX Runtime's dynamic int8 is what it is, but still MiniLM
                assert acc["staticml_min_cosine"] >= 0.995 and acc["ort_min_cosine"] >= 0.95, (case, acc)
        for case in cases:
            lat = row["latency"][case]
            assert lat["staticml"]["n"] == 1 and lat["ort"]["n"] == 2   # one block of staticml between two of ORT
            # the ratio is taken against the faster of ORT's two blocks (with one run each: its minimum)
            assert row["staticml_vs_ort"][case] == pytest.approx(lat["staticml"]["median_ms"] / lat["ort"]["min_ms"],
                                                                 abs=0.006)
        # --gap-ms: one query per engine and case after 30 ms of idle
        assert row["after_idle"]["gap_ms"] == 30
        assert {k: {e: s["n"] for e, s in v.items()} for k, v in row["after_idle"]["latency"].items()} == {
            k: {"staticml": 1, "ort": 1} for k in cases}
    # the batch of 32 is padded to its longest text for ONNX Runtime (as transformers.js pads)
    assert len(r["tokens"]["batch_32"]) == 32 and max(r["tokens"]["passage_250"]) <= 256
    assert "| f32 | ONNX Runtime Web 1.30.0 wasm, 2 thread(s) |" in done.stdout
    assert "| int8 dynamic | ONNX Runtime Web 1.30.0 wasm, 2 thread(s) |" in done.stdout
    assert "after 30 ms idle, q8, staticml vs ONNX Runtime Web" in done.stdout
