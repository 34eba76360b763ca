"""Sibling Linear layers (BERT's query / key / value) as one matmul: which tensors the loader places side by side
(staticml.weights.fused_groups / buffers_of), when a loaded model hands them over as one weight
(LoadedTensorSource.fused_linear), and that the stacked weight computes exactly what the three did (native,
numpy backend; the browser suites run the fused path on WebGPU and the CPU kernels)."""
import numpy as np
import pytest

from staticml import weights
from staticml.models.weights import ArraySource, LoadedTensorSource, ModelWeights
from staticml.runtime import ops
from staticml.runtime.numpy_backend import NumpyBackend
from staticml.runtime.plan import Plan


def tensor(name, shape, dtype="f32", scales=None):
    t = {"name": name, "shape": list(shape), "dtype": dtype, "nbytes": 4 * int(np.prod(shape))}
    if scales:
        t["quant"] = {"scheme": dtype, "scales": scales}
    return t


def layer(stem, C=8, K=8, dtype="f32", bias=True):
    out = []
    for n in ("query", "key", "value"):
        s = f"{stem}.{n}.weight.scales" if dtype in ("q8", "q4") else None
        out.append(tensor(f"{stem}.{n}.weight", (C, K), dtype, s))
        if bias:
            out.append(tensor(f"{stem}.{n}.bias", (C,)))
        if s:
            out.append(tensor(s, (C,)))
    return out


def test_fused_groups_take_complete_sibling_sets_of_one_dtype_and_k():
    m = {"tensors": [tensor("emb.word", (50, 8)), *layer("a", dtype="q8"), *layer("b", bias=False),
                     *layer("c"), tensor("c.output.weight", (8, 8))]}
    m["tensors"] = [t for t in m["tensors"] if t["name"] != "c.value.weight"]   # c lacks one: no group
    assert weights.fused_groups(m) == [
        ["a.query.weight", "a.key.weight", "a.value.weight"], ["a.query.bias", "a.key.bias", "a.value.bias"],
        ["a.query.weight.scales", "a.key.weight.scales", "a.value.weight.scales"],
        ["b.query.weight", "b.key.weight", "b.value.weight"]]
    mixed = {"tensors": layer("d")}
    mixed["tensors"][2]["shape"] = [8, 16]                                       # key's K differs
    assert weights.fused_groups(mixed) == []
    # a set that cannot be placed whole stays apart whole: only some biases, or a bias not in f32
    some_bias = {"tensors": [t for t in layer("e") if t["name"] != "e.key.bias"]}
    f16_bias = {"tensors": [{**t, "dtype": "f16"} if t["name"] == "e.value.bias" else t for t in layer("e")]}
    assert weights.fused_groups(some_bias) == weights.fused_groups(f16_bias) == []
    layout = weights.buffers_of(m)
    assert sum(len(b["names"]) for b in layout) == len(m["tensors"])
    a = layout[0]
    assert a["offsets"] == [0, 256, 512] and a["nbytes"] == 768 and a["shape"] == [24, 8] and a["dtype"] == "q8"
    grouped = {n for g in weights.fused_groups(m) for n in g}
    assert [b["names"] for b in layout[4:]] == [[t["name"]] for t in m["tensors"] if t["name"] not in grouped]


def test_a_loaded_group_is_read_as_one_weight_and_never_member_by_member():
    """(No backend is reached on these paths: they decide from the loader's table alone.)"""
    def table(order, same_buffer):
        return {f"x.{n}.weight": {"buffer": 7 if same_buffer else i, "offset": 256 * i if same_buffer else 0,
                                  "nbytes": 256, "dtype": "f32", "shape": [8, 8]} for i, n in enumerate(order)}

    qkv = ["x.query", "x.key", "x.value"]
    assert LoadedTensorSource(table(("query", "key", "value"), False)).fused_linear(None, qkv, "f32") is None
    assert LoadedTensorSource(table(("key", "query", "value"), True)).fused_linear(None, qkv, "f32") is None
    with pytest.raises(ValueError, match="read them together with fused_linear"):
        LoadedTensorSource(table(("query", "key", "value"), True)).weight(None, "x.key.weight", "f32")


@pytest.mark.parametrize("dtype", ["f32", "q8", "q4"])
def test_the_stacked_weight_computes_what_the_three_linears_did(dtype):
    rng = np.random.default_rng(0)
    C, K = 24, 64
    arrays = {}
    for n in ("query", "key", "value"):
        arrays[f"att.{n}.weight"] = rng.standard_normal((C, K)).astype("float32")
        arrays[f"att.{n}.bias"] = rng.standard_normal(C).astype("float32")
    be = NumpyBackend()
    w = ModelWeights(be, ArraySource(arrays), dtype)
    names = ["att.query", "att.key", "att.value"]
    plan = Plan("qkv")
    x = plan.input("x", (3, 5, K))
    fused_w, fused_b = w.fused_linear(names)
    assert (fused_w.N, fused_w.K) == (3 * C, K)
    qkv = ops.linear(x, fused_w, fused_b)                                        # [3, 5, 3C]
    for i, n in enumerate(names):
        plan.output(f"fused_{i}", ops.contiguous(qkv.slice(2, i * C, (i + 1) * C)))
        plan.output(f"alone_{i}", ops.linear(x, *w.linear(n)))
    xs = rng.standard_normal((3, 5, K)).astype("float32")
    got = be.compile_sync(plan).run_arrays({"x": xs})
    for i in range(3):
        np.testing.assert_allclose(got[f"fused_{i}"], got[f"alone_{i}"], rtol=1e-5, atol=1e-5)
