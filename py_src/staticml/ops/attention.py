"""Fused scaled-dot-product attention (shaders/attention.wgsl): padding mask, causal option, GQA.

Two kernels, both with an online softmax (running max and sum), so no [Tq, Tk] score matrix is ever
stored; q, k, v are read through strides, so they may be views into one fused QKV projection:
- `main_tiled` (D <= 64): one 64-thread workgroup per (block of 64 queries, head, batch), a thread per
  query with its q row and output row in registers; K/V tiles of BK keys are staged once in workgroup
  memory and shared by the block's 64 queries. D is padded to DP (32 or 64), a compile-time constant
  in the source so the per-thread arrays are registers; one pipeline per DP.
- `main` (any D <= 256, the fallback): one 64-thread workgroup per (query, head, batch), threads
  split the keys and the output channels; every query reads all of K/V from global memory.
The tiled kernel needs 8.1 KiB of workgroup memory (2 * BK * DP * 4 + BK * 4), inside WebGPU's
guaranteed 16 KiB, so it runs on every adapter; D > 64 would cost too many registers per thread.
"""
from dataclasses import dataclass

from ..shaders import load_wgsl
from .dispatch import DUMMY, Dispatch
from .uniforms import Uniforms

MAX_HEAD_DIM = 256
TILED_MAX_D = 64
BQ = 64  # queries per workgroup in main_tiled (its @workgroup_size)


def tile(D: int) -> tuple[int, int] | None:
    """(DP, BK) for main_tiled: D padded to 32 or 64 and the key tile, BK * DP = 1024 floats per K/V tile;
    None when D is too large and `main` runs."""
    if D > TILED_MAX_D:
        return None
    DP = 32 if D <= 32 else 64
    return DP, 1024 // DP


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


def kernel_key(D: int) -> str:
    t = tile(D)
    return "attention_f32_online64" if t is None else f"attention_f32_q{BQ}k{t[1]}d{t[0]}"


def source(D: int) -> str:
    DP, BK = tile(D) or (32, 32)  # main ignores them; they only size main_tiled's arrays
    return (AttentionUniforms.wgsl_struct() + f"const DP: u32 = {DP}u;\nconst BK: u32 = {BK}u;\n"
            + load_wgsl("attention"))


def workgroups(B: int, Tq: int, H: int, D: int) -> tuple[int, int, int]:
    return ((Tq if tile(D) is None else -(-Tq // BQ)), H, B)


def encode(node, features=()) -> list:
    q, k, v, mask = (node.inputs[n] for n in ("q", "k", "v", "key_mask"))
    B, Tq, H, D = q.shape
    u = AttentionUniforms(Tq=Tq, Tk=k.shape[1], H=H, group=H // k.shape[2], D=D, causal=int(node.params["causal"]),
                          has_mask=int(mask is not None), scale=node.params["scale"],
                          q_off=q.offset, q_sb=q.strides[0], q_st=q.strides[1], q_sh=q.strides[2],
                          k_off=k.offset, k_sb=k.strides[0], k_st=k.strides[1], k_sh=k.strides[2],
                          v_off=v.offset, v_sb=v.strides[0], v_st=v.strides[1], v_sh=v.strides[2])
    entry = "main" if tile(D) is None else "main_tiled"
    return [Dispatch(kernel_key(D), source(D), entry, u.pack(), [q, k, v, DUMMY if mask is None else mask, node.out],
                     workgroups(B, Tq, H, D))]


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
