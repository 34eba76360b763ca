"""The op API and the numpy backend natively: a BERT layer written with staticml ops matches
transformers' BertLayer (PyTorch CPU), per weight dtype; plans and views reject misuse clearly."""
import asyncio

import numpy as np
import pytest
import torch

from staticml import quant
from staticml.ops.tolerance import QUANT_ERROR
from staticml.runtime import Plan, ops
from staticml.runtime.example_block import bert_layer_tensors, encoder_block, load_block
from staticml.runtime.numpy_backend import NumpyBackend


def _bert_layer(C=64, H=4, I=256):
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertLayer

    torch.manual_seed(0)
    cfg = BertConfig(hidden_size=C, num_attention_heads=H, intermediate_size=I, hidden_act="gelu",
                     layer_norm_eps=1e-12, attn_implementation="eager")
    return BertLayer(cfg).eval(), cfg


# Max |difference| to PyTorch's f32 BertLayer per weight dtype (outputs are LayerNorm'ed, O(1)):
# f32 is rounding only; the others are the weight quantization error (QUANT_ERROR) carried
# through four matmuls and two LayerNorms on this random layer.
BLOCK_TOL = {"f32": 1e-5, "f16": 1e-3, "q8": 2e-2, "q4": 3e-1}  # measured: 5e-7, 2e-4, 4e-3, 9e-2


@pytest.mark.parametrize("dtype", quant.DTYPES)
def test_bert_layer_on_numpy_backend_matches_transformers(dtype):
    layer, cfg = _bert_layer()
    B, T, C = 2, 17, cfg.hidden_size
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, T, C)).astype(np.float32)
    mask = np.ones((B, T), np.float32)
    mask[1, 11:] = 0  # second sequence is padded after 11 tokens
    with torch.no_grad():
        ext = (1.0 - torch.from_numpy(mask))[:, None, None, :] * torch.finfo(torch.float32).min
        out = layer(torch.from_numpy(x), attention_mask=ext)
        want = (out[0] if isinstance(out, tuple) else out).numpy()  # transformers 5 returns the tensor

    be = NumpyBackend()
    w = load_block(be, "l0.", bert_layer_tensors(layer, dtype), dtype)
    plan = Plan("block")
    xt, mt = plan.input("x", (B, T, C)), plan.input("mask", (B, T))
    plan.output("y", encoder_block(xt, mt, w, cfg.num_attention_heads, cfg.layer_norm_eps))
    got = asyncio.run(be.compile(plan)).run_arrays({"x": x, "mask": mask})["y"]
    real = mask.astype(bool)  # padded positions' outputs are not used by any model
    err = np.abs(got - want)[real].max()
    assert err < BLOCK_TOL[dtype], (dtype, err)
    assert len(plan.nodes) == 7  # fused QKV, attention on views, epilogue residuals: no copies


def test_bytes_api_matches_arrays():
    be = NumpyBackend()
    plan = Plan()
    x = plan.input("x", (2, 3))
    plan.output("y", ops.softmax(x))
    out = asyncio.run(asyncio.run(be.compile(plan)).run({"x": np.arange(6, dtype=np.float32).tobytes()}))
    assert np.frombuffer(out["y"], np.float32).reshape(2, 3).sum(1) == pytest.approx([1, 1])


def test_views_and_misuse_are_explained():
    be = NumpyBackend()
    plan = Plan()
    x = plan.input("x", (2, 6, 4))
    t = x.transpose(1, 2)
    assert t.shape == (2, 4, 6) and not t.is_contiguous
    with pytest.raises(ValueError, match="contiguous"):
        t.reshape(8, 6)
    y = ops.contiguous(t).reshape(8, 6)
    plan.output("y", y)
    plan.output("cat", ops.concat([x, x.slice(2, 0, 1)], axis=2))
    data = np.arange(48, dtype=np.float32).reshape(2, 6, 4)
    out = asyncio.run(be.compile(plan)).run_arrays({"x": data})
    assert np.array_equal(out["y"], data.transpose(0, 2, 1).reshape(8, 6))
    assert np.array_equal(out["cat"], np.concatenate([data, data[:, :, :1]], axis=2))
    w = be.weight("w", np.ones((3, 5), np.float32))
    with pytest.raises(ValueError, match="expects K=5"):
        ops.linear(x, w)
    with pytest.raises(ValueError, match="exactly one plan"):
        ops.add(be.constant("c", (4,), data=np.zeros(4)), be.constant("d", (4,), data=np.zeros(4)))
    with pytest.raises(ValueError, match="act must be one of"):
        ops.linear(plan.input("z", (1, 5)), w, act="gelu_fast")
    with pytest.raises(ValueError, match="needs inputs"):
        asyncio.run(be.compile(plan)).run_arrays({})


def test_kernel_variant_follows_the_adapter():
    """f16 weights use native f16 only with shader-f16 (SwiftShader lacks it, so this is checked here);
    CPU-emulated adapters get the direct linear kernel, real GPUs the 64x64 tiled one, or main_skinny for few rows."""
    from staticml.ops import linear as linear_family

    be = NumpyBackend()
    plan = Plan()
    x = plan.input("x", (300, 40))
    node = ops.linear(x, be.weight("w", np.ones((5, 40), np.float32), "f16")).node
    unpack = linear_family.encode_linear(node, features=("timestamp-query",), software=False)[0]
    native = linear_family.encode_linear(node, features=("shader-f16",), software=False)[0]
    direct = linear_family.encode_linear(node, features=(), software=True)[0]
    assert unpack.key == "linear_f16_64x64x32" and "enable f16" not in unpack.source
    assert "unpack2x16float" in unpack.source and unpack.entry == "main" and unpack.groups == (1, 5, 1)
    assert native.key == "linear_f16native_64x64x32" and native.source.startswith("enable f16;")
    assert direct.key == "linear_f16_direct32x32" and direct.entry == "main_direct"
    few = ops.linear(plan.input("y", (3, 40)), be.weight("v", np.ones((5, 40), np.float32), "f16")).node
    thin = linear_family.encode_linear(few, features=("shader-f16",), software=False)[0]
    assert thin.key == "linear_f16native_skinny16x8" and thin.entry == "main_skinny" and thin.groups == (1, 1, 1)
    assert linear_family.encode_linear(few, features=(), software=True)[0].entry == "main_direct"
    # the q8 kernel never asks for f16, whatever the adapter has
    q8 = ops.linear(x, be.weight("q", np.ones((5, 40), np.float32), "q8")).node
    assert "enable f16" not in linear_family.encode_linear(q8, features=("shader-f16",))[0].source
