"""The numpy references (the definition of every op) against PyTorch CPU (torch==2.13.0) where PyTorch
defines the same thing. Both sides compute in float64 here, so agreement is to ~1e-12 unless noted."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from staticml.ops import attention, embedding, linear, matmul, norm, pooling, rotary, softmax, argmax

rng = np.random.default_rng(0)
TIGHT = dict(rtol=1e-6, atol=1e-6)  # references round their float64 result to f32 once: ~6e-8 relative


def t64(a):
    return torch.from_numpy(np.asarray(a, np.float64))


@pytest.mark.parametrize("act,fn", [("gelu_erf", lambda v: F.gelu(v)), ("gelu_tanh", lambda v: F.gelu(v, approximate="tanh")),
                                    ("silu", F.silu), ("relu", F.relu), ("none", lambda v: v)])
def test_activations_match_torch(act, fn):
    v = np.linspace(-12, 12, 4001)
    np.testing.assert_allclose(linear.activation(v, act), fn(t64(v)).numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("M,K,N", [(1, 1, 1), (17, 384, 127), (3, 1536, 17)])
def test_linear_with_epilogue_matches_torch(M, K, N):
    x, w, b, r = (rng.uniform(-1, 1, s).astype(np.float32) for s in [(M, K), (N, K), (N,), (M, N)])
    want = F.gelu(F.linear(t64(x), t64(w), t64(b))) + t64(r)
    np.testing.assert_allclose(linear.reference(x, w, b, "gelu_erf", r), want.numpy(), **TIGHT)


def test_batched_matmul_matches_torch():
    a, b = rng.standard_normal((3, 17, 127)), rng.standard_normal((3, 5, 127))
    np.testing.assert_allclose(matmul.batched_reference(a, b, transpose_b=True),
                               torch.bmm(t64(a), t64(b).transpose(1, 2)).numpy(), **TIGHT)


@pytest.mark.parametrize("C", [1, 17, 384, 1536])
def test_norms_match_torch(C):
    x = rng.standard_normal((5, C)) * 3 + 2
    g, b = rng.standard_normal(C), rng.standard_normal(C)
    np.testing.assert_allclose(norm.layer_norm(x, g, b, 1e-12), F.layer_norm(t64(x), (C,), t64(g), t64(b), 1e-12).numpy(),
                               **TIGHT)
    np.testing.assert_allclose(norm.rms_norm(x, g, 1e-6), F.rms_norm(t64(x), (C,), t64(g), 1e-6).numpy(), **TIGHT)
    np.testing.assert_allclose(norm.l2_normalize(x, 1e-12), F.normalize(t64(x), dim=-1, eps=1e-12).numpy(), **TIGHT)


def test_softmax_with_additive_mask_matches_torch():
    x = rng.standard_normal((2, 3, 5, 17)) * 4
    mask = np.where(rng.random((2, 17)) < 0.3, -1e9, 0.0)
    want = torch.softmax(t64(x) * 0.125 + t64(mask)[:, None, None, :], dim=-1)
    np.testing.assert_allclose(softmax.reference(x, mask, 0.125), want.numpy(), **TIGHT)


@pytest.mark.parametrize("B,Tq,Tk,H,Hkv,D,causal", [(2, 17, 17, 4, 4, 32, False), (1, 127, 127, 2, 2, 64, True),
                                                    (2, 3, 17, 4, 2, 16, True), (1, 1, 1, 1, 1, 1, False)])
def test_sdpa_matches_torch(B, Tq, Tk, H, Hkv, D, causal):
    q, k, v = rng.standard_normal((B, Tq, H, D)), rng.standard_normal((B, Tk, Hkv, D)), rng.standard_normal((B, Tk, Hkv, D))
    key_mask = (rng.random((B, Tk)) < 0.8).astype(np.float32)
    key_mask[:, -1] = 1  # every query keeps a visible key (torch returns NaN for rows with none)
    allowed = torch.from_numpy(key_mask != 0)[:, None, None, :]
    if causal:  # bottom-right aligned, as with a KV cache; torch's is_causal is top-left, so pass it as a mask
        allowed = allowed & torch.ones(Tq, Tk, dtype=torch.bool).tril(Tk - Tq)
    qt, kt, vt = (t64(a).transpose(1, 2) for a in (q, k, v))
    want = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=allowed, enable_gqa=True).transpose(1, 2)
    np.testing.assert_allclose(attention.reference(q, k, v, key_mask, causal), want.numpy(), **TIGHT)


def test_sdpa_fully_padded_query_gives_zeros():
    q = rng.standard_normal((1, 3, 1, 4))
    out = attention.reference(q, q, q, np.zeros((1, 3), np.float32))
    assert np.array_equal(out, np.zeros_like(out))


@pytest.mark.parametrize("D,R,offset", [(64, 64, 0), (128, 64, 7), (2, 2, 100)])
def test_rotary_matches_transformers_rotate_half(D, R, offset):
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    B, T, H = 2, 17, 3
    x = rng.standard_normal((B, T, H, D))
    cos, sin = rotary.cos_sin(T, R, 10000.0, offset)  # [T, R]
    xt = t64(x[..., :R]).transpose(1, 2)               # [B, H, T, R] as transformers expects
    q_rot, _ = apply_rotary_pos_emb(xt, xt, t64(cos)[None], t64(sin)[None])
    want = np.concatenate([q_rot.transpose(1, 2).numpy(), x[..., R:]], axis=-1)
    np.testing.assert_allclose(rotary.reference(x, 10000.0, offset, R), want, **TIGHT)
    # and the frequencies are Llama's: inv_freq = theta^(-2i/R)
    inv = 1.0 / (10000.0 ** (torch.arange(0, R, 2, dtype=torch.float64) / R))
    np.testing.assert_allclose(cos[:, :R // 2], torch.cos(torch.arange(offset, offset + T, dtype=torch.float64)[:, None] * inv))


def test_mean_pooling_matches_sentence_transformers():
    from sentence_transformers.sentence_transformer.modules import Pooling

    x = rng.standard_normal((3, 17, 8)).astype(np.float32)
    mask = (rng.random((3, 17)) < 0.7).astype(np.int64)
    mask[:, 0] = 1
    want = Pooling(8, pooling_mode="mean")({"token_embeddings": torch.from_numpy(x),
                                            "attention_mask": torch.from_numpy(mask)})["sentence_embedding"]
    np.testing.assert_allclose(pooling.reference(x, mask), want.numpy(), rtol=1e-5, atol=1e-6)  # torch sums in f32


def test_embedding_and_argmax_match_torch():
    ids = rng.integers(0, 50, (2, 7))
    types = rng.integers(0, 2, (2, 7))
    table, pos, tt = rng.standard_normal((50, 6)), rng.standard_normal((12, 6)), rng.standard_normal((2, 6))
    want = F.embedding(torch.from_numpy(ids), t64(table)) + t64(pos)[3:10][None] + F.embedding(torch.from_numpy(types), t64(tt))
    np.testing.assert_allclose(embedding.reference(ids, table, pos, types, tt, pos_offset=3), want.numpy(), **TIGHT)
    with pytest.raises(IndexError, match="token id out of range"):
        embedding.reference(np.array([[50]]), table)
    x = rng.standard_normal((4, 9)).astype(np.float32)
    x[2, [1, 5]] = 10.0
    assert argmax.reference(x).tolist() == torch.argmax(torch.from_numpy(x), dim=-1).tolist()
