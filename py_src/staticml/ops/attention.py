"""Fused scaled-dot-product attention (shaders/attention.wgsl): padding mask, causal option, GQA.

One 64-thread workgroup per (query, head, batch). Keys are visited 64 at a time with an online
softmax (running max and sum), so no [Tq, Tk] score matrix is ever stored. q, k, v are read through
strides, so they may be views into one fused QKV projection without a copy.
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import DUMMY, Dispatch
from .uniforms import Uniforms

MAX_HEAD_DIM = 256


@dataclass(frozen=True)
class AttentionUniforms(Uniforms):
    Tq: "u32"
    Tk: "u32"
    H: "u32"
    group: "u32"      # query heads per k/v head (H / Hkv)
    D: "u32"
    causal: "u32"
    has_mask: "u32"
    scale: "f32"
    q_off: "u32"
    q_sb: "u32"
    q_st: "u32"
    q_sh: "u32"
    k_off: "u32"
    k_sb: "u32"
    k_st: "u32"
    k_sh: "u32"
    v_off: "u32"
    v_sb: "u32"
    v_st: "u32"
    v_sh: "u32"


def kernel_key() -> str:
    return "attention_f32_online64"


def source() -> str:
    return AttentionUniforms.wgsl_struct() + load_wgsl("attention")


def encode(node, features=()) -> list:
    q, k, v, mask = (node.inputs[n] for n in ("q", "k", "v", "key_mask"))
    B, Tq, H, D = q.shape
    u = AttentionUniforms(Tq=Tq, Tk=k.shape[1], H=H, group=H // k.shape[2], D=D, causal=int(node.params["causal"]),
                          has_mask=int(mask is not None), scale=node.params["scale"],
                          q_off=q.offset, q_sb=q.strides[0], q_st=q.strides[1], q_sh=q.strides[2],
                          k_off=k.offset, k_sb=k.strides[0], k_st=k.strides[1], k_sh=k.strides[2],
                          v_off=v.offset, v_sb=v.strides[0], v_st=v.strides[1], v_sh=v.strides[2])
    return [Dispatch(kernel_key(), source(), "main", u.pack(), [q, k, v, DUMMY if mask is None else mask, node.out],
                     (Tq, H, B))]


def reference(q, k, v, key_mask=None, causal: bool = False, scale: float = None):
    """q [B, Tq, H, D]; k, v [B, Tk, Hkv, D]; key_mask [B, Tk] (1 attend, 0 pad) -> [B, Tq, H, D].
    A query with no visible key gets zeros."""
    import numpy as np

    q, k, v = (np.asarray(t, np.float64) for t in (q, k, v))
    B, Tq, H, D = q.shape
    Tk, Hkv = k.shape[1], k.shape[2]
    scale = D ** -0.5 if scale is None else scale
    k = np.repeat(k, H // Hkv, axis=2)  # [B, Tk, H, D]: query head h uses k/v head h // (H / Hkv)
    v = np.repeat(v, H // Hkv, axis=2)
    s = np.einsum("bqhd,bkhd->bhqk", q, k) * scale
    visible = np.ones((B, 1, Tq, Tk), bool)
    if key_mask is not None:
        visible &= (np.asarray(key_mask) != 0)[:, None, None, :]
    if causal:
        visible &= (np.arange(Tk)[None, :] <= np.arange(Tq)[:, None] + (Tk - Tq))[None, None]
    s = np.where(visible, s, -np.inf)
    m = s.max(-1, keepdims=True)
    e = np.where(visible, np.exp(s - np.where(np.isfinite(m), m, 0.0)), 0.0)
    denom = e.sum(-1, keepdims=True)
    p = np.divide(e, denom, out=np.zeros_like(e), where=denom > 0)
    return np.einsum("bhqk,bkhd->bqhd", p, v).astype(np.float32)
