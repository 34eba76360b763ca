"""A BERT encoder layer (post-LayerNorm, GELU-erf) written against the op API, as models will be.

Used by the tests (numpy backend vs transformers' BertLayer natively; plan vs debug replay on
WebGPU) and by the ops benchmark. Weights follow PyTorch's layout: Linear weight [out, in].
"""
from . import ops
from .plan import Plan


def load_block(backend, prefix: str, tensors: dict, dtype: str = "f32") -> dict:
    """tensors: name -> (shape, bytes or array) for the BertLayer parameters (see `param_names`).
    Q, K and V become one fused [3C, C] projection so attention reads q/k/v as views of one output."""
    w = {}
    for name in ("attn_qkv", "attn_out", "ffn_in", "ffn_out"):
        (N, K), words, scales = tensors[f"{name}.weight"]
        w[name] = backend.packed_weight(f"{prefix}{name}", dtype, N, K, words, scales)
        shape, data = tensors[f"{name}.bias"]
        w[f"{name}.bias"] = backend.constant(f"{prefix}{name}.bias", shape, "f32", data)
    for name in ("ln1", "ln2"):
        for part in ("gamma", "beta"):
            shape, data = tensors[f"{name}.{part}"]
            w[f"{name}.{part}"] = backend.constant(f"{prefix}{name}.{part}", shape, "f32", data)
    return w


def encoder_block(x, key_mask, w: dict, heads: int, eps: float = 1e-12):
    """x [B, T, C] f32, key_mask [B, T] (1 token / 0 padding) -> [B, T, C]. 7 dispatches."""
    B, T, C = x.shape
    D = C // heads
    qkv = ops.linear(x, w["attn_qkv"], w["attn_qkv.bias"])                  # [B, T, 3C]
    q = qkv.slice(-1, 0, C).unflatten(-1, (heads, D))                        # [B, T, H, D] views
    k = qkv.slice(-1, C, 2 * C).unflatten(-1, (heads, D))
    v = qkv.slice(-1, 2 * C, 3 * C).unflatten(-1, (heads, D))
    ctx = ops.attention(q, k, v, key_mask).reshape(B, T, C)                  # [B, T, C]
    h = ops.linear(ctx, w["attn_out"], w["attn_out.bias"], residual=x)
    h = ops.layer_norm(h, w["ln1.gamma"], w["ln1.beta"], eps)
    f = ops.linear(h, w["ffn_in"], w["ffn_in.bias"], act="gelu_erf")         # [B, T, 4C]
    f = ops.linear(f, w["ffn_out"], w["ffn_out.bias"], residual=h)           # [B, T, C]
    return ops.layer_norm(f, w["ln2.gamma"], w["ln2.beta"], eps)


def block_plan(backend, tensors: dict, shape: tuple, heads: int, dtype: str = "f32") -> Plan:
    """One encoder block on `backend` as a plan: inputs x [B, T, C] and mask [B, T]; outputs y (the block's)
    and pooled (masked mean, L2-normalised), as a sentence encoder ends."""
    w = load_block(backend, "l0.", tensors, dtype)
    plan = Plan("block")
    x, mask = plan.input("x", shape), plan.input("mask", shape[:2])
    y = encoder_block(x, mask, w, heads)
    plan.output("y", y)
    plan.output("pooled", ops.l2_normalize(ops.mean_pool(y, mask)))
    return plan


def bert_layer_tensors(layer, dtype: str = "f32") -> dict:
    """Native: a transformers BertLayer's parameters as `load_block` wants them (quantized to dtype)."""
    import numpy as np

    from .. import quant

    def arr(t):
        return t.detach().cpu().numpy().astype(np.float32)

    att = layer.attention
    wq, wk, wv = (arr(m.weight) for m in (att.self.query, att.self.key, att.self.value))
    bq, bk, bv = (arr(m.bias) for m in (att.self.query, att.self.key, att.self.value))
    mats = {"attn_qkv": (np.concatenate([wq, wk, wv]), np.concatenate([bq, bk, bv])),
            "attn_out": (arr(att.output.dense.weight), arr(att.output.dense.bias)),
            "ffn_in": (arr(layer.intermediate.dense.weight), arr(layer.intermediate.dense.bias)),
            "ffn_out": (arr(layer.output.dense.weight), arr(layer.output.dense.bias))}
    out = {}
    for name, (wt, b) in mats.items():
        words, scales = quant.pack(wt, dtype)
        out[f"{name}.weight"] = (wt.shape, words.tobytes(), None if scales is None else scales.tobytes())
        out[f"{name}.bias"] = (b.shape, b.tobytes())
    for name, ln in (("ln1", att.output.LayerNorm), ("ln2", layer.output.LayerNorm)):
        out[f"{name}.gamma"] = (tuple(ln.weight.shape), arr(ln.weight).tobytes())
        out[f"{name}.beta"] = (tuple(ln.bias.shape), arr(ln.bias).tobytes())
    return out
