"""The benchmark's profiling and bookkeeping, natively: GPU nanoseconds per dispatch aggregated per kernel
family / key / matmul shape, the ?f16= switch, MiniLM's plans at the H100 benchmark's largest shapes
within WebGPU's limits, and the PyTorch reference script on a tiny config (CPU)."""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from staticml.gpu import webgpu
from staticml.runtime import Plan, ops, profile
from staticml.runtime.numpy_backend import NumpyBackend
from staticml.runtime.webgpu_backend import ENCODERS

REPO = Path(__file__).resolve().parents[2]


def _dispatch_infos(plan):
    out = []
    for node in plan.nodes:
        extra = {"software": False} if node.op in ("linear", "matmul") else {}
        for d in ENCODERS[node.op](node, (), **extra):
            out.append(profile.describe(node, d, ENCODERS[node.op].__module__.rsplit(".", 1)[-1]))
    return out


def _small_plan():
    be = NumpyBackend()
    w = be.weight("w", [[0.5] * 32] * 48)              # [N=48, K=32]
    g, b = be.constant("g", (48,), "f32", [1.0] * 48), be.constant("b", (48,), "f32", [0.0] * 48)
    plan = Plan("p")
    x = plan.input("x", (2, 5, 32))
    y = ops.layer_norm(ops.linear(x, w), g, b)
    plan.output("y", ops.add(y, y))
    return plan


def test_describe_names_family_key_and_matmul_shape():
    infos = _dispatch_infos(_small_plan())
    assert [i["family"] for i in infos] == ["linear", "norm", "elementwise"]
    lin = infos[0]
    assert (lin["M"], lin["K"], lin["N"], lin["weights"]) == (10, 32, 48, "f32")
    assert lin["flops"] == 2 * 10 * 32 * 48
    assert lin["key"].startswith("linear_f32_")
    assert "M" not in infos[1]


def test_aggregate_sums_per_family_key_and_shape():
    infos = _dispatch_infos(_small_plan()) * 2          # two forwards' worth
    ns = [2e6, 1e6, 0.5e6, 4e6, 1e6, 0.5e6]
    agg = profile.aggregate(infos, ns)
    assert agg["dispatches"] == 6
    assert agg["sum_ms"] == pytest.approx(9.0)
    assert agg["by_family"]["linear"] == {"ms": 6.0, "count": 2, "share": pytest.approx(6 / 9, abs=1e-4),
                                          "tflops": pytest.approx(2 * 2 * 10 * 32 * 48 / 6e-3 / 1e12, abs=1e-3),
                                          "gflops": pytest.approx(2 * 2 * 10 * 32 * 48 / 6e-3 / 1e9, abs=0.1),
                                          "ms_each": 3.0}
    assert agg["by_family"]["norm"]["count"] == 2 and agg["by_family"]["norm"]["ms"] == pytest.approx(2.0)
    assert list(agg["by_family"]) == ["linear", "norm", "elementwise"]        # largest first
    assert agg["matmul_by_shape"]["10x32x48 f32"]["count"] == 2
    assert "note" not in agg


def test_aggregate_reports_bad_timestamps_and_mismatches():
    infos = _dispatch_infos(_small_plan())
    agg = profile.aggregate(infos, [1e6, -5.0, None])
    assert agg["sum_ms"] == pytest.approx(1.0)
    assert "2 dispatches" in agg["note"]
    with pytest.raises(ValueError, match="2 timings for 3 dispatches"):
        profile.aggregate(infos, [1.0, 2.0])


def test_per_dispatch_median():
    assert profile.per_dispatch_median([[1, 10], [3, 30], [2, 20]]) == [2, 20]
    assert profile.per_dispatch_median([]) == []
    with pytest.raises(ValueError):
        profile.per_dispatch_median([[1, 2], [1]])


def test_f16_switch_withholds_shader_f16_only_when_asked(monkeypatch):
    assert webgpu.withheld_features("auto") == ""
    assert webgpu.withheld_features("unpack") == "shader-f16"
    with pytest.raises(ValueError, match="f16='fast'"):
        webgpu.withheld_features("fast")
    # a bad ?f16= (the worker puts it in STATICML_F16) is refused with the choices, before any GPU call
    monkeypatch.setenv("STATICML_F16", "half")
    with pytest.raises(ValueError, match="auto, unpack"):
        asyncio.run(webgpu.WebGPUDevice.request())


@pytest.fixture(scope="module")
def minilm():
    from staticml.builder.models import model_cache
    from staticml.pipelines import pipeline

    return asyncio.run(pipeline("feature-extraction", model_cache().default_model_folder()))


def test_minilm_plans_at_the_benchmark_shapes_fit_webgpu_limits(minilm):
    """Batch 512 x 128 tokens (and the 250-token passage) must dispatch within 65535 workgroups per
    dimension and bind no buffer over 1 GiB: the H100 run has no second chance."""
    p = minilm
    # split-K's second passes per forward: at M = 1024 the FFN output linear (96 workgroups of 64x64, K = 1536)
    for (B, T), second_passes in {(1, 16): 0, (512, 128): 0, (1, 256): 0, (32, 32): 6}.items():
        plan = p.normalized.plan(B, T)
        infos = _dispatch_infos(plan)
        assert sum(1 for i in infos if i.get("second_pass")) == second_passes
        assert len(infos) == 46 + second_passes           # dispatches per forward without split-K, any shape
        assert max(g for i in infos for g in i["groups"]) <= 65535
        assert max(t.storage.nbytes for n in plan.nodes for t in n.tensors()) <= 2**30
        assert sum(1 for i in infos if i["family"] == "linear" and not i.get("second_pass")) == 24   # q, k, v as one
        agg = profile.aggregate(infos, [1e3] * len(infos))
        assert agg["by_family"]["linear"]["count"] == 24 and sum(r["count"] for r in agg["matmul_by_shape"].values()) == 24


def test_torch_reference_script_runs_on_a_tiny_config(tmp_path):
    sys.path.insert(0, str(REPO / "tests"))
    from harness.tiny_models import write_tiny_bert

    from staticml import bench_inputs

    write_tiny_bert(tmp_path / "m")
    (tmp_path / "inputs.json").write_text(json.dumps(bench_inputs.as_json()))
    out = tmp_path / "ref.json"
    subprocess.run([sys.executable, str(REPO / "bench" / "torch_cuda_reference.py"), "--model-dir", str(tmp_path / "m"),
                    "--inputs", str(tmp_path / "inputs.json"), "--device", "cpu", "--reps", "1", "--tp-reps", "1",
                    "--sizes", "2", "--linear-m", "16", "--dtypes", "fp32", "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    r = json.loads(out.read_text())
    assert r["tf32"] == {"matmul": False, "cudnn": False}
    fp32 = r["dtypes"]["fp32"]
    assert set(fp32["latency"]) == {"short_1", "batch_8", "batch_32", "passage_250"}
    assert fp32["throughput"]["batch_2"]["B"] == 2
    for row in [*fp32["latency"].values(), *fp32["throughput"].values()]:
        assert {"e2e", "tokenize", "forward", "gpu"} <= set(row) and row["forward"]["median_ms"] > 0
    assert len(r["linear"]["fp32"]) == 3 and r["linear"]["fp32"][0]["M"] == 16


def test_bench_probe_feeds_the_programs_what_embed_feeds_them(minilm):
    """gpu_probe times forwards on inputs from FeatureExtraction.batch_inputs: they must be the very inputs
    encode() gives the same programs (batch 8 and a ~250-token passage: runs of different shapes)."""
    from staticml.bench import gpu_probe

    texts = gpu_probe.texts_of("batch_8") + gpu_probe.texts_of("passage_250")
    assert gpu_probe.texts_of("throughput_128", 3) == [gpu_probe.bench_inputs.THROUGHPUT_128] * 3
    seen = []
    original = minilm._program

    async def spy(encoder, B, T):
        prog = await original(encoder, B, T)

        class Spy:
            async def run(self, inputs):
                seen.append((B, T, {k: bytes(memoryview(v).cast("B")) for k, v in inputs.items()}))
                return await prog.run(inputs)
        return Spy()

    minilm._program = spy
    try:
        asyncio.run(minilm.encode(texts, batch_size=32))
    finally:
        del minilm._program
    tokens = minilm.model.tokenizer.encode_batch(texts, max_length=minilm.max_length, padding=False, truncation=True)
    mine = []
    for rows in minilm._batches(tokens.ids, 32):
        B, T, inputs = minilm.batch_inputs([tokens.ids[i] for i in rows], [tokens.token_type_ids[i] for i in rows])
        mine.append((B, T, {k: v.tobytes() for k, v in inputs.items()}))
    # the passage alone, then batch 8 cut as the numpy backend prices a run (8 tokens; a GPU's round trip would
    # make it one [8, 32]: test_feature_extraction): 4 rows of 16-20 tokens, 4 of 13-15
    assert [(B, T) for B, T, _ in seen] == [(1, 256), (4, 32), (4, 16)]
    assert mine == seen


def test_idle_probe_sleeps_before_every_stage_and_reports_each_gap(minilm):
    """idle_probe on the numpy backend (the CPU path's shape of the probe): every gap gets e2e, tokenize and
    forward samples, each after its own sleep, and nonsense gaps are refused."""
    import time

    from staticml.bench import idle_probe

    t0 = time.perf_counter()
    r = asyncio.run(idle_probe.after_idle(minilm, {"case": "short_1", "reps": 2, "warmup": 0, "gaps": [0, 150]}))
    wall = time.perf_counter() - t0
    assert wall >= 2 * 2 * 0.150            # two sleeps of 150 ms per rep (e2e, stages): they really slept
    assert r["gaps_ms"] == [0, 150] and list(r["by_gap"]) == ["0", "150"] and r["backend"] == "numpy"
    assert [(f["B"], f["rows"]) for f in r["forwards"]] == [(1, 1)]   # one short sentence: one forward
    for stages in r["by_gap"].values():
        assert set(stages) == {"e2e", "tokenize", "forward"}
        assert all(s["n"] == 2 and s["median_ms"] > 0 for s in stages.values())
    for bad in ([], [-1], [120_000]):
        with pytest.raises(ValueError, match="idle gaps must be 0..60000 ms"):
            idle_probe.gaps_of({"gaps": bad})
