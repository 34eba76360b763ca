"""The op API models are written against. Each call checks shapes and records one node in the plan
of its activations; nothing runs until a backend compiles and runs the plan. The op names, inputs
and params recorded here are the backend-neutral contract (ops/README.md); every backend implements
each op, and the numpy backend does it with the op's `reference()`.

Activations are f32 (token ids and argmax results are i32). Shapes in the comments: B batch,
T tokens, H heads, D head size, C channels, K in-features, N out-features.
"""
from .plan import plan_of
from .tensor import Tensor, Weight

ACTIVATIONS = ("none", "gelu_erf", "gelu_tanh", "silu", "relu")


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _f32(name: str, t) -> None:
    if not (isinstance(t, Tensor) and t.dtype == "f32"):   # the message only when it fails: repr costs
        raise ValueError(f"{name} must be an f32 Tensor, got {t!r}")


def contiguous(x: Tensor) -> Tensor:
    """x itself if its data is already dense and starts at offset 0, else a dense copy."""
    if x.is_contiguous and x.offset == 0:
        return x
    _need(x.ndim <= 4, f"copies support up to 4 dimensions, got {x.shape}")
    return plan_of(x).add("copy", {"x": x}, {}, x.shape, x.dtype)


def concat(tensors: list, axis: int = -1) -> Tensor:
    """Join tensors of equal shape except along `axis` (up to 4-D)."""
    _need(len(tensors) >= 1, "concat needs at least one tensor")
    first = tensors[0]
    axis = axis % first.ndim
    for t in tensors:
        _need(t.ndim == first.ndim and t.dtype == first.dtype and all(
            a == b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis),
            f"concat along {axis}: shapes {[t.shape for t in tensors]} differ elsewhere")
    shape = list(first.shape)
    shape[axis] = sum(t.shape[axis] for t in tensors)
    _need(first.ndim <= 4, f"concat supports up to 4 dimensions, got {first.shape}")
    return plan_of(*tensors).add("concat", {"xs": list(tensors)}, {"axis": axis}, shape, first.dtype)


def linear(x: Tensor, w: Weight, bias: Tensor = None, act: str = "none", residual: Tensor = None) -> Tensor:
    """act(x @ w.T + bias) + residual.   x [..., K], w [N, K] (any quant dtype), bias [N], residual [..., N]."""
    _f32("linear x", x)
    _need(isinstance(w, Weight), f"linear weight must be a Weight (backend.weight(...)), got {type(w).__name__}")
    _need(x.shape[-1] == w.K, f"linear: x has {x.shape[-1]} features but the weight expects K={w.K}")
    _need(act in ACTIVATIONS, f"linear act must be one of {ACTIVATIONS}, got {act!r}")
    x = contiguous(x)
    out_shape = (*x.shape[:-1], w.N)
    if bias is not None:
        _f32("linear bias", bias)
        _need(bias.shape == (w.N,), f"linear bias must have shape ({w.N},), got {bias.shape}")
    if residual is not None:
        _f32("linear residual", residual)
        _need(residual.shape == out_shape, f"linear residual must have shape {out_shape}, got {residual.shape}")
        residual = contiguous(residual)
    return plan_of(x).add("linear", {"x": x, "w": w, "bias": bias, "residual": residual}, {"act": act}, out_shape)


def matmul(a: Tensor, b: Tensor, transpose_b: bool = False) -> Tensor:
    """Batched a @ b (or a @ b^T).   a [B, M, K] or [M, K]; b [B, K, N] (or [B, N, K] with transpose_b)."""
    _f32("matmul a", a)
    _f32("matmul b", b)
    _need(a.ndim == b.ndim and a.ndim in (2, 3), f"matmul wants two 2-D or two 3-D tensors, got {a.shape} and {b.shape}")
    a, b = contiguous(a), contiguous(b)
    K, N = (b.shape[-1], b.shape[-2]) if transpose_b else (b.shape[-2], b.shape[-1])
    _need(a.shape[-1] == K, f"matmul: a {a.shape} and b {b.shape} (transpose_b={transpose_b}) disagree on K")
    _need(a.ndim == 2 or a.shape[0] == b.shape[0], f"matmul: batch sizes differ: {a.shape} vs {b.shape}")
    return plan_of(a, b).add("matmul", {"a": a, "b": b}, {"transpose_b": bool(transpose_b)}, (*a.shape[:-1], N))


def _binary(op: str, a: Tensor, b: Tensor) -> Tensor:
    _f32(f"{op} a", a)
    _f32(f"{op} b", b)
    _need(a.shape[a.ndim - b.ndim:] == b.shape if b.ndim <= a.ndim else False,
          f"{op}: b {b.shape} must equal a {a.shape} or its trailing dimensions (broadcast over the leading ones)")
    return plan_of(a, b).add(op, {"a": contiguous(a), "b": contiguous(b)}, {}, a.shape)


def add(a: Tensor, b: Tensor) -> Tensor:
    """a + b, b broadcast over a's leading dimensions."""
    return _binary("add", a, b)


def mul(a: Tensor, b: Tensor) -> Tensor:
    """a * b, b broadcast over a's leading dimensions."""
    return _binary("mul", a, b)


def layer_norm(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * gamma + beta over the last dimension.   x [..., C], gamma/beta [C]."""
    _f32("layer_norm x", x)
    C = x.shape[-1]
    _need(gamma.shape == (C,) and beta.shape == (C,), f"layer_norm: gamma/beta must be ({C},)")
    return plan_of(x).add("layer_norm", {"x": contiguous(x), "gamma": gamma, "beta": beta}, {"eps": float(eps)}, x.shape)


def rms_norm(x: Tensor, gamma: Tensor, eps: float = 1e-6) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * gamma over the last dimension (Llama).   x [..., C], gamma [C]."""
    _f32("rms_norm x", x)
    _need(gamma.shape == (x.shape[-1],), f"rms_norm: gamma must be ({x.shape[-1]},)")
    return plan_of(x).add("rms_norm", {"x": contiguous(x), "gamma": gamma}, {"eps": float(eps)}, x.shape)


def l2_normalize(x: Tensor, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_2, eps) over the last dimension (torch.nn.functional.normalize)."""
    _f32("l2_normalize x", x)
    return plan_of(x).add("l2_normalize", {"x": contiguous(x)}, {"eps": float(eps)}, x.shape)


def softmax(x: Tensor, mask: Tensor = None, scale: float = 1.0) -> Tensor:
    """softmax(x * scale + mask) over the last dimension.
    x [R..., C]; mask (additive) [Bm, C] with rows(x) % Bm == 0: row r uses mask[r // (rows / Bm)]
    (so x [B, H, Tq, Tk] with mask [B, Tk] masks keys per batch)."""
    _f32("softmax x", x)
    x = contiguous(x)
    if mask is not None:
        _f32("softmax mask", mask)
        rows = x.numel // x.shape[-1] if x.shape[-1] else 0
        _need(mask.ndim == 2 and mask.shape[1] == x.shape[-1] and mask.shape[0] > 0 and rows % mask.shape[0] == 0,
              f"softmax mask must be [Bm, {x.shape[-1]}] with Bm dividing the {rows} rows, got {mask.shape}")
        mask = contiguous(mask)
    return plan_of(x).add("softmax", {"x": x, "mask": mask}, {"scale": float(scale)}, x.shape)


def embedding(ids: Tensor, table: Tensor, pos_table: Tensor = None, type_ids: Tensor = None,
              type_table: Tensor = None, pos_offset: int = 0) -> Tensor:
    """table[ids] (+ pos_table[pos_offset + t]) (+ type_table[type_ids]).   ids [B, T] i32 -> [B, T, C]."""
    _need(ids.dtype == "i32" and ids.ndim == 2, f"embedding ids must be i32 [B, T], got {ids!r}")
    _need(table.ndim == 2, f"embedding table must be [V, C], got {table.shape}")
    B, T = ids.shape
    C = table.shape[1]
    if pos_table is not None:
        _need(pos_table.ndim == 2 and pos_table.shape[1] == C and pos_offset + T <= pos_table.shape[0],
              f"position table {pos_table.shape} must be [P >= {pos_offset + T}, {C}]")
    _need((type_ids is None) == (type_table is None), "embedding: give both type_ids and type_table, or neither")
    if type_ids is not None:
        _need(type_ids.dtype == "i32" and type_ids.shape == (B, T), f"type_ids must be i32 [{B}, {T}]")
        _need(type_table.ndim == 2 and type_table.shape[1] == C, f"type table must be [types, {C}]")
        type_ids = contiguous(type_ids)
    return plan_of(ids).add("embedding", {"ids": contiguous(ids), "table": table, "pos_table": pos_table,
                                          "type_ids": type_ids, "type_table": type_table},
                            {"pos_offset": int(pos_offset)}, (B, T, C))


def attention(q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor = None, causal: bool = False,
              scale: float = None) -> Tensor:
    """Fused softmax(q k^T * scale + masks) v per head.
    q [B, Tq, H, D]; k, v [B, Tk, Hkv, D] with H % Hkv == 0 (grouped-query heads share k/v);
    any strides as long as D is dense, so q/k/v may be views into one fused QKV projection.
    key_mask [B, Tk] f32: 1 = attend, 0 = padding. causal: query i sees keys j <= i + (Tk - Tq).
    A query that sees no key gets zeros. Returns [B, Tq, H, D] (dense)."""
    for name, t in (("q", q), ("k", k), ("v", v)):
        _f32(f"attention {name}", t)
        _need(t.ndim == 4 and t.strides[3] == 1, f"attention {name} must be [B, T, heads, D] with dense D, got {t.shape}")
    B, Tq, H, D = q.shape
    _need(k.shape == v.shape and k.shape[0] == B and k.shape[3] == D and H % k.shape[2] == 0,
          f"attention: k {k.shape} / v {v.shape} do not fit q {q.shape}")
    _need(D <= 256, f"attention head size D={D} is above the kernel's 256")
    if key_mask is not None:
        _f32("attention key_mask", key_mask)
        _need(key_mask.shape == (B, k.shape[1]), f"key_mask must be [{B}, {k.shape[1]}], got {key_mask.shape}")
        key_mask = contiguous(key_mask)
    scale = float(scale) if scale is not None else D ** -0.5
    return plan_of(q).add("attention", {"q": q, "k": k, "v": v, "key_mask": key_mask},
                          {"causal": bool(causal), "scale": scale}, (B, Tq, H, D))


def rotary(x: Tensor, theta: float = 10000.0, pos_offset: int = 0, rotary_dim: int = None) -> Tensor:
    """Rotary position embedding, "rotate half" form (Llama / GPT-NeoX): for i < R/2, position p = pos_offset + t,
    f = theta^(-2i/R): (x_i, x_{i+R/2}) -> (x_i cos pf - x_{i+R/2} sin pf, x_{i+R/2} cos pf + x_i sin pf);
    channels >= R pass through.   x [B, T, H, D] -> same shape (dense)."""
    _f32("rotary x", x)
    _need(x.ndim == 4, f"rotary x must be [B, T, H, D], got {x.shape}")
    R = x.shape[3] if rotary_dim is None else int(rotary_dim)
    _need(R % 2 == 0 and 0 < R <= x.shape[3], f"rotary_dim must be even and <= D={x.shape[3]}, got {R}")
    return plan_of(x).add("rotary", {"x": contiguous(x)}, {"theta": float(theta), "pos_offset": int(pos_offset),
                                                          "rotary_dim": R}, x.shape)


def mean_pool(x: Tensor, mask: Tensor) -> Tensor:
    """sum_t x[b, t] * mask[b, t] / max(sum_t mask[b, t], 1e-9) (sentence-transformers).   x [B, T, C], mask [B, T] -> [B, C]."""
    _f32("mean_pool x", x)
    _need(x.ndim == 3 and mask.shape == x.shape[:2], f"mean_pool: x [B, T, C] and mask [B, T], got {x.shape}, {mask.shape}")
    return plan_of(x).add("mean_pool", {"x": contiguous(x), "mask": contiguous(mask)}, {}, (x.shape[0], x.shape[2]))


def argmax(x: Tensor) -> Tensor:
    """Index of the largest value over the last dimension (the first one on ties).   x [..., C] -> i32 [...]."""
    _f32("argmax x", x)
    _need(x.shape[-1] > 0, "argmax over an empty dimension")
    return plan_of(x).add("argmax", {"x": contiguous(x)}, {}, x.shape[:-1], "i32")
