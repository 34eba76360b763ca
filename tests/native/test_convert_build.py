"""`build.py build --model DIR` (repeatable): models land in dist/models/<id>/ byte for byte, only after
every shard is checked against its manifest; the page config and the service worker learn about them."""
import hashlib
import json
import re
import shutil
import subprocess
import sys

import pytest

from convert_helpers import REPO, model_cache
from harness.tiny_models import write_tiny_bert
from staticml.builder import headers


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    hf = write_tiny_bert(tmp / "hf", seed=5)
    out = {}
    for dtype in ("f32", "q8"):
        out[dtype] = tmp / dtype
        model_cache.convert(model_cache.ConvertOptions(folder=hf, out=out[dtype], dtype=dtype, shard_mib=0.0625,
                                                       model_id=f"tiny-{dtype}"))
    return out


def build(*args):
    return subprocess.run([sys.executable, str(REPO / "build.py"), "build", "--no-demo", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_two_models_are_copied_verified_and_announced(converted, tmp_path):
    dist = tmp_path / "dist"
    proc = build("--out", dist, "--model", converted["f32"], "--model", converted["q8"])
    assert proc.returncode == 0, proc.stderr
    html = (dist / "index.html").read_text()
    config = json.loads(re.search(r'id="staticml-config">(.*?)</script>', html).group(1).replace("<\\/", "</"))
    sw = (dist / "sw.js").read_text()
    shell = json.loads(re.match(r"self\.STATICML_PRECACHE = (.*);\n", sw).group(1))
    assert [m["id"] for m in config["models"]] == ["tiny-f32", "tiny-q8"]
    for m, dtype in zip(config["models"], ("f32", "q8")):
        src = converted[dtype]
        manifest = json.loads((src / "manifest.json").read_text())
        served = dist / m["manifest"]
        assert served.read_bytes() == (src / "manifest.json").read_bytes()
        assert served.name == f"manifest.{hashlib.sha256(served.read_bytes()).hexdigest()[:12]}.json"
        assert m["manifest"] in shell["urls"]       # the manifest is precached with the app shell
        names = [s["file"] for s in manifest["shards"]] + [f["file"] for f in manifest["files"].values()]
        assert sorted(p.name for p in served.parent.iterdir()) == sorted(names + [served.name])
        for name in names:
            assert (served.parent / name).read_bytes() == (src / name).read_bytes()
        sw_model = next(x for x in shell["models"] if x["id"] == m["id"])
        assert {b["sha256"] for b in sw_model["blobs"]} == {s["sha256"] for s in manifest["shards"]} | {
            f["sha256"] for f in manifest["files"].values()}
        assert m["total_bytes"] == sum((src / n).stat().st_size for n in names)
    # every model file is content-named, so hosts may cache it forever
    table = headers.rules(False)
    assert "immutable" in headers.headers_for(f"/{config['models'][0]['manifest'][2:]}", table)["Cache-Control"]
    assert "/models/*" in (dist / "_headers").read_text()


def test_a_damaged_shard_is_refused(converted, tmp_path):
    bad = shutil.copytree(converted["f32"], tmp_path / "bad")
    manifest = json.loads((bad / "manifest.json").read_text())
    shard = bad / manifest["shards"][1]["file"]
    data = bytearray(shard.read_bytes())
    data[100] ^= 1
    shard.write_bytes(bytes(data))
    proc = build("--out", tmp_path / "dist", "--model", bad)
    assert proc.returncode == 2
    assert f"{shard.name}: its bytes do not match manifest.json" in proc.stderr
    assert not (tmp_path / "dist").exists()


def test_an_unconverted_folder_and_a_duplicate_id_are_refused(converted, tmp_path):
    hf = write_tiny_bert(tmp_path / "hf", seed=5)
    proc = build("--out", tmp_path / "dist", "--model", hf)
    assert proc.returncode == 2 and "run `build.py convert` on it first" in proc.stderr
    proc = build("--out", tmp_path / "dist", "--model", converted["f32"], "--model", converted["f32"])
    assert proc.returncode == 2 and "a model with id 'tiny-f32' is already included" in proc.stderr
    assert not (tmp_path / "dist").exists()


@pytest.mark.parametrize("dtype", ["f32", "q8"])
def test_the_upload_plan_python_hands_the_glue_rebuilds_every_tensor(converted, dtype):
    """staticml.weights.upload_plan over weights.buffers_of (the ints the worker's loader replays with
    queue.writeBuffer), replayed here on bytearrays: every tensor's bytes land at its offset, spans across
    shards included; each layer's query / key / value weights (and biases, and q8 scales) fill one buffer
    back to back, which is the stacked [3C, K] matrix a fused matmul reads."""
    import numpy as np

    from staticml import weights

    folder = converted[dtype]
    manifest = json.loads((folder / "manifest.json").read_text())
    layout = weights.buffers_of(manifest)
    where = {name: (100 + i, off) for i, b in enumerate(layout) for name, off in zip(b["names"], b["offsets"])}
    assert sorted(where) == sorted(t["name"] for t in manifest["tensors"])
    buffers = {100 + i: bytearray(b["nbytes"]) for i, b in enumerate(layout)}
    written = {b: 0 for b in buffers}
    shards = [(folder / s["file"]).read_bytes() for s in manifest["shards"]]
    for shard, src, buf, dst, n in weights.upload_plan(manifest, where):
        buffers[buf][dst:dst + n] = shards[shard][src:src + n]
        written[buf] += n
    assert any(len(t["spans"]) > 1 for t in manifest["tensors"])
    assert written == {100 + i: b["nbytes"] for i, b in enumerate(layout)}
    for t in manifest["tensors"]:
        buf, off = where[t["name"]]
        assert bytes(buffers[buf][off:off + t["nbytes"]]) == model_cache.tensor_bytes(folder, manifest, t["name"])

    layers = manifest["config"]["num_hidden_layers"]
    per_layer = {"f32": ["weight", "bias"], "q8": ["weight", "bias", "scales"]}[dtype]
    fused = [b for b in layout if len(b["names"]) > 1]
    assert len(fused) == layers * len(per_layer)
    for b in fused:
        stems = [n.replace(".weight.scales", ".weight").rsplit(".", 1)[0] for n in b["names"]]
        assert [s.rsplit(".", 1)[-1] for s in stems] == ["query", "key", "value"], b["names"]
    C = manifest["config"]["hidden_size"]
    first = next(b for b in fused if b["names"][0].endswith("layer.0.attention.self.query.weight"))
    assert first["shape"] == [3 * C, C] and first["dtype"] == dtype
    if dtype == "f32":   # the stacked rows are the three weights in order
        got = np.frombuffer(bytes(buffers[where[first["names"][0]][0]]), "<f4").reshape(3 * C, C)
        want = np.concatenate([np.frombuffer(model_cache.tensor_bytes(folder, manifest, n), "<f4").reshape(C, C)
                               for n in first["names"]])
        assert np.array_equal(got, want)
    with pytest.raises(ValueError, match="format_version 2"):
        weights.check_manifest({**manifest, "format_version": 2}, "tiny-f32")
