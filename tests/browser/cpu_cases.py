"""Cases for the CPU (WebAssembly SIMD) kernels: inputs made with numpy, the numpy reference each
output is checked against, and the runner that executes a batch of cases inside Pyodide through
`staticml.cpu.kernels.CpuKernels` (one browser round trip per batch).

The references are the ops' own definitions (`staticml.ops.<family>.reference`); the ones defined here
are for behaviour only the CPU kernels have: q8 with int8 activations (`ref_matmul_q8`) and softmax
rows that are entirely masked (zeros, where the generic reference gives NaN).
"""

import numpy as np

from staticml.cpu import layout, pack

ACTS = ["none", "gelu_erf", "gelu_tanh", "silu", "relu"]
# (70, 1536, 20): several row blocks of the 2-D tiling (f32: 32 rows, q8p: 64) with a tail block
MATMUL_SHAPES = [(1, 1, 1), (3, 17, 5), (17, 127, 33), (4, 384, 17), (127, 40, 9), (5, 384, 384), (70, 1536, 20)]
# q8dyn: q8 weights with int8_activations=True; q8x7 / q8x7f: q8x7 panels, x rounded to 7 bits, the dot split / fused
WEIGHT_DTYPES = ["f32", "f16", "q8", "q4", "q8dyn", "q8p", "q8x7", "q8x7f"]

# --- numpy references ---
from staticml.ops import argmax as argmax_op  # noqa: E402
from staticml.ops import attention as attention_op  # noqa: E402
from staticml.ops import embedding as embedding_op  # noqa: E402
from staticml.ops import linear as linear_op  # noqa: E402
from staticml.ops import norm as norm_op  # noqa: E402
from staticml.ops import matmul as matmul_op  # noqa: E402
from staticml.ops import pooling as pooling_op  # noqa: E402
from staticml.ops import rotary as rotary_op  # noqa: E402
from staticml.ops import softmax as softmax_op  # noqa: E402

ref_linear = linear_op.reference


def ref_act(x, act):
    return linear_op.activation(x, act)


def ref_quantize_rows(x, qmax: float):
    """Dynamic per-row symmetric quantization exactly as matmul_q8.c does it, in f32:
    q = nearest(x * (qmax / max|x|)), scale = max|x| / qmax (round half to even, like f32x4.nearest)."""
    x = np.asarray(x, np.float32)
    amax = np.abs(x).max(axis=1)
    inv = np.where(amax > 0, np.float32(qmax) / np.where(amax > 0, amax, 1), 0).astype(np.float32)
    q = np.rint((x * inv[:, None]).astype(np.float32))
    return q, (amax / np.float32(qmax)).astype(np.float32)


def ref_matmul_q8(x, wq, sw, qmax, bias=None, act="none", residual=None):
    """q8 linear: int8 rows of x (dynamic) times int8 W, int32 sums, scaled by sx[m] * sw[n]."""
    q, sx = ref_quantize_rows(x, qmax)
    acc = (q.astype(np.int64) @ wq.astype(np.int64).T).astype(np.float32)
    y = acc * (sw[None, :] * sx[:, None]).astype(np.float32)
    return ref_linear(y, np.eye(y.shape[1], dtype=np.float32), bias, act, residual)


def ref_quantize_rows_7bit(x):
    """matmul_q8x7.c's rounding of each row of x to 128 steps over its [min, max], in f32:
    q = nearest((x - lo) * (127 / (hi - lo))) in 0..127 (0 when hi - lo <= 1e-30), step = (hi - lo) / 127."""
    x = np.asarray(x, np.float32)
    lo, hi = x.min(axis=1), x.max(axis=1)
    span = hi - lo
    inv = np.where(span > 1e-30, np.float32(127) / np.where(span > 1e-30, span, 1), 0).astype(np.float32)
    q = np.rint(((x - lo[:, None]) * inv[:, None]).astype(np.float32))
    return q, ((hi - lo) / np.float32(127)).astype(np.float32), lo


def ref_matmul_q8x7(x, wq, sw, bias=None, act="none", residual=None):
    """q8x7 linear: x rounded per row to 7 bits (asymmetric), exact int sums with int8 W, then
    sw[n] * (step[m] * acc + lo[m] * sum_k w[n, k])."""
    q, step, lo = ref_quantize_rows_7bit(x)
    wq = wq.astype(np.int64)
    acc = (q.astype(np.int64) @ wq.T).astype(np.float32)
    y = sw[None, :] * (step[:, None] * acc + lo[:, None] * wq.sum(axis=1).astype(np.float32)[None, :])
    return ref_linear(y.astype(np.float32), np.eye(y.shape[1], dtype=np.float32), bias, act, residual)


def ref_softmax(x, mask=None, period=1):
    """softmax(x + mask[m // period]); a row that is all -inf gives zeros (the kernel's definition)."""
    x = np.asarray(x, np.float64)
    if mask is not None:
        x = x + np.repeat(np.asarray(mask, np.float64), period, axis=0)
    mx = x.max(axis=1, keepdims=True)
    dead = ~np.isfinite(mx)
    e = np.exp(x - np.where(dead, 0, mx))
    e = np.where(dead, 0, e)
    s = e.sum(axis=1, keepdims=True)
    return np.where(dead, 0, e / np.where(s > 0, s, 1)).astype(np.float32)


# --- cases: {"id", "op", "args", "kwargs", "inputs": {name: bytes}, "outputs": {name: nbytes}} + "check" ---
def _f32(a) -> bytes:
    return np.ascontiguousarray(a, np.float32).tobytes()


def _case(cid, op, args, kwargs, inputs, outputs, check):
    return {"id": cid, "op": op, "args": args, "kwargs": kwargs, "inputs": inputs, "outputs": outputs, "check": check}


def _tol_f32(K):
    # f32 sums of K products of values in [-1, 1] (sequential or FMA order): a few ulp per term
    return dict(rtol=1e-5, atol=2e-6 * K + 1e-6)


def matmul_cases(shapes=MATMUL_SHAPES, dtypes=WEIGHT_DTYPES, qmax=None):
    """qmax: the q8 activation range of the variant that runs (127 plain SIMD128, 63 relaxed)."""
    cases = []
    for si, (M, K, N) in enumerate(shapes):
        rng = np.random.default_rng(1000 + si)
        x = rng.uniform(-1, 1, (M, K)).astype(np.float32)
        w = rng.uniform(-1, 1, (N, K)).astype(np.float32)
        b = rng.uniform(-1, 1, N).astype(np.float32)
        res = rng.uniform(-1, 1, (M, N)).astype(np.float32)
        for di, dtype in enumerate(dtypes):
            act = ACTS[(si + di) % len(ACTS)]
            use_res = (si + di) % 2 == 1
            inputs = {"x": _f32(x), "b": _f32(b)}
            if use_res:
                inputs["res"] = _f32(res)
            kw = {"dtype": dtype, "bias": "@b", "act": act, "residual": "@res" if use_res else 0}
            if dtype == "q8dyn":
                kw.update(dtype="q8", int8_activations=True)
            if dtype == "q8x7f":
                kw.update(dtype="q8x7", fused_dot=True)
            if dtype == "f32":
                inputs["w"], w_eff = pack.pack_f32(w), w
            elif dtype == "f16":
                inputs["w"], w_eff = pack.pack_f16(w), w.astype(np.float16).astype(np.float32)
            elif dtype == "q4":
                inputs["w"], inputs["s"] = pack.quantize_q4(w)
                w_eff = pack.dequantize_q4(inputs["w"], inputs["s"], N, K)
                kw["scales"] = "@s"
            elif dtype == "q8":
                inputs["w"], inputs["s"] = pack.quantize_q8(w)
                w_eff = pack.dequantize_q8(inputs["w"], inputs["s"], N, K)
                kw["scales"] = "@s"
            else:
                inputs["w"], inputs["s"] = pack.quantize_q8(w)
                kw["scales"] = "@s"
            r = res if use_res else None
            if dtype in ("q8dyn", "q8p", "q8x7", "q8x7f"):
                wq = np.frombuffer(inputs["w"], np.int8).reshape(N, -1)[:, :K]
                sw = np.frombuffer(inputs["s"], np.float32)
                exact = ref_linear(x, pack.dequantize_q8(inputs["w"], inputs["s"], N, K), b, act, r)
                if dtype == "q8p":   # x rounded to int16 (+-q8_activation_max), W in q8p panels
                    want = ref_matmul_q8(x, wq, sw, layout.q8_activation_max(K), b, act, r)
                    inputs["w"] = pack.pack_q8p(inputs["w"], N, K)
                    kw["dtype"] = "q8p"
                    near = (exact, 1e-4)
                elif dtype.startswith("q8x7"):   # x rounded to 7 bits per row, W in q8x7 panels
                    xs = x
                    if (si + di) % 2 == 0:   # smoothing: x times 1/s per input channel before the rounding
                        inv = rng.uniform(0.5, 2, K).astype(np.float32)
                        inputs["sm"], kw["smooth"] = _f32(inv), "@sm"
                        xs = (x * inv).astype(np.float32)
                    want = ref_matmul_q8x7(xs, wq, sw, b, act, r)
                    exact = ref_linear(xs, pack.dequantize_q8(inputs["w"], inputs["s"], N, K), b, act, r)
                    inputs["w"] = pack.pack_q8x7(inputs["w"], N, K)
                    near = (exact, 0.02)
                else:
                    want = ref_matmul_q8(x, wq, sw, qmax, b, act, r)
                    near = (exact, 0.05)
                # f32 rounding of acc * (sw * sx) and rare rounding ties in the quantization of x
                tol = dict(rtol=1e-4, atol=1e-4 * (np.abs(want).max() + 1))
                check = {"out": (want, tol), "_q8_vs_float": near}
            else:
                check = {"out": (ref_linear(x, w_eff, b, act, r), _tol_f32(K))}
            cases.append(_case(f"matmul-{dtype}-{M}x{K}x{N}-{act}{'-res' if use_res else ''}{'-smooth' if 'smooth' in kw else ''}", "matmul",
                               ["@x", "@w", "@out", M, K, N], kw, inputs, {"out": 4 * M * N}, check))
    return cases


def pack_cases():
    cases = []
    for N, K in [(1, 1), (17, 3), (9, 127)]:
        w = np.random.default_rng(N * K).uniform(-1, 1, (N, K)).astype(np.float32)
        want = np.frombuffer(pack.pack_f32(w), np.float32)
        cases.append(_case(f"pack_f32-{N}x{K}", "pack_f32", ["@w", "@out", N, K], {}, {"w": _f32(w)},
                           {"out": layout.weight_nbytes("f32", N, K)}, {"out": (want, dict(rtol=0, atol=0))}))
    for N, K in [(1, 1), (17, 3), (9, 127), (8, 16)]:
        wq, _ = pack.quantize_q8(np.random.default_rng(N + K).uniform(-1, 1, (N, K)))
        want = np.frombuffer(pack.pack_q8p(wq, N, K), np.int8)
        cases.append(_case(f"pack_q8-{N}x{K}", "pack_q8", ["@w", "@out", N, K], {}, {"w": wq},
                           {"out": layout.weight_nbytes("q8p", N, K)}, {"out": (want, dict(rtol=0, atol=0))}))
        want = np.frombuffer(pack.pack_q8x7(wq, N, K), np.int8)
        cases.append(_case(f"pack_q8x7-{N}x{K}", "pack_q8x7", ["@w", "@out", N, K], {}, {"w": wq},
                           {"out": layout.weight_nbytes("q8x7", N, K)}, {"out": (want, dict(rtol=0, atol=0))}))
    return cases


def norm_cases():
    cases = []
    for i, (M, N) in enumerate([(1, 1), (3, 17), (17, 384), (127, 3), (5, 23)]):   # 23: 16 + 4 + 3
        rng = np.random.default_rng(2000 + i)
        x = (rng.normal(0, 2, (M, N)) + 3).astype(np.float32)
        g, b = rng.uniform(0.5, 1.5, N).astype(np.float32), rng.uniform(-1, 1, N).astype(np.float32)
        tol = dict(rtol=1e-5, atol=1e-5)
        inputs = {"x": _f32(x), "g": _f32(g), "b": _f32(b)}
        cases.append(_case(f"layer_norm-{M}x{N}", "layer_norm", ["@x", "@g", "@b", "@out", M, N], {"eps": 1e-12},
                           inputs, {"out": 4 * M * N}, {"out": (norm_op.reference("layer_norm", x, g, b, 1e-12), tol)}))
        cases.append(_case(f"layer_norm-nobeta-{M}x{N}", "layer_norm", ["@x", "@g", 0, "@out", M, N], {"eps": 1e-5},
                           inputs, {"out": 4 * M * N}, {"out": (norm_op.reference("layer_norm", x, g, np.zeros(N), 1e-5), tol)}))
        cases.append(_case(f"rms_norm-{M}x{N}", "rms_norm", ["@x", "@g", "@out", M, N], {"eps": 1e-6},
                           inputs, {"out": 4 * M * N}, {"out": (norm_op.reference("rms_norm", x, g, eps=1e-6), tol)}))
        x0 = x.copy()
        x0[0] = 0   # a zero row: divides by eps, not by 0
        cases.append(_case(f"l2_normalize-{M}x{N}", "l2_normalize", ["@x", "@out", M, N], {"eps": 1e-12},
                           {"x": _f32(x0)}, {"out": 4 * M * N}, {"out": (norm_op.reference("l2_normalize", x0, eps=1e-12), tol)}))
    return cases


def softmax_cases():
    cases = []
    for i, (M, N, period) in enumerate([(1, 1, 1), (3, 17, 1), (17, 127, 17), (6, 384, 2)]):
        rng = np.random.default_rng(3000 + i)
        x = rng.normal(0, 4, (M, N)).astype(np.float32)
        mask = np.where(rng.uniform(size=(M // period, N)) < 0.3, -np.inf, 0).astype(np.float32)
        mask[:, 0] = 0   # every row keeps at least one entry ...
        if M > 1:
            mask[-1, :] = -np.inf   # ... except the last mask row: a fully masked row gives zeros
        tol = dict(rtol=1e-5, atol=1e-7)
        cases.append(_case(f"softmax-{M}x{N}", "softmax", ["@x", "@out", M, N], {}, {"x": _f32(x)},
                           {"out": 4 * M * N}, {"out": (ref_softmax(x), tol)}))
        if M > 1:   # ops.softmax.reference, with a scale (no fully masked row here)
            keep = mask.copy()
            keep[-1, 0] = 0
            cases.append(_case(f"softmax-scale-{M}x{N}/{period}", "softmax", ["@x", "@out", M, N],
                               {"mask": "@m", "mask_period": period, "scale": 0.3}, {"x": _f32(x), "m": _f32(keep)},
                               {"out": 4 * M * N}, {"out": (softmax_op.reference(x, keep, 0.3), tol)}))
        cases.append(_case(f"softmax-mask-{M}x{N}/{period}", "softmax", ["@x", "@out", M, N],
                           {"mask": "@m", "mask_period": period}, {"x": _f32(x), "m": _f32(mask)},
                           {"out": 4 * M * N}, {"out": (ref_softmax(x, mask, period), tol)}))
    return cases


def attention_cases():
    """(B, Tq, Tk, H, Hkv, D, causal, layout): layout "fused" reads q/k/v in place from one [B, T, 3, H, D]
    QKV projection output; Tq < Tk with causal is a decoding step over a cache; Hkv < H is GQA."""
    cases = []
    for i, (B, Tq, Tk, H, Hkv, D, causal, layout) in enumerate([
            (1, 1, 1, 1, 1, 1, False, "separate"), (2, 3, 3, 2, 2, 17, True, "separate"),
            (2, 17, 17, 3, 3, 32, False, "fused"), (1, 127, 127, 2, 2, 32, True, "fused"),
            (1, 384, 384, 1, 1, 16, False, "separate"), (2, 1, 17, 4, 2, 8, True, "separate"),
            (2, 5, 9, 6, 2, 32, True, "separate"),
            # K and V of a head too big for the scratch: the row-by-row path
            (1, 600, 600, 1, 1, 40, True, "separate")]):
        rng = np.random.default_rng(4000 + i)
        q = rng.normal(0, 1, (B, Tq, H, D)).astype(np.float32)
        k, v = (rng.normal(0, 1, (B, Tk, Hkv, D)).astype(np.float32) for _ in range(2))
        key_mask = np.ones((B, Tk), np.float32)
        key_mask[-1, Tk // 2 + 1:] = 0   # the last sequence is padded
        want = attention_op.reference(q, k, v, key_mask, causal)
        kw = {"Hkv": Hkv, "key_mask": "@m", "causal": causal}
        if layout == "fused":
            qkv = np.stack([q, k, v], axis=2)   # [B, T, 3, H, D]
            C = H * D
            inputs = {"qkv": _f32(qkv), "m": _f32(key_mask)}
            args = ["@qkv", "@qkv+" + str(4 * C), "@qkv+" + str(8 * C), "@out", B, Tq, Tk, H, D]
            kw.update(q_strides=[3 * Tq * C, 3 * C, D], k_strides=[3 * Tk * C, 3 * C, D], v_strides=[3 * Tk * C, 3 * C, D])
        else:
            inputs = {"q": _f32(q), "k": _f32(k), "v": _f32(v), "m": _f32(key_mask)}
            args = ["@q", "@k", "@v", "@out", B, Tq, Tk, H, D]
        cases.append(_case(f"attention-{B}x{Tq}x{Tk}x{H}/{Hkv}x{D}{'-causal' if causal else ''}-{layout}", "attention",
                           args, kw, inputs, {"out": 4 * B * Tq * H * D},
                           {"out": (want, dict(rtol=1e-4, atol=2e-6 * Tk + 1e-6))}))
    # Padded keys weigh exactly 0, not a tiny exponential: their values are 3e38, which times even 2^-127
    # would show (the kernel's base-2 exponential flushes below 2^-126.5 to 0 by construction).
    rng = np.random.default_rng(4100)
    B, T, H, D = 2, 70, 2, 32
    q, k, v = (rng.normal(0, 1, (B, T, H, D)).astype(np.float32) for _ in range(3))
    key_mask = np.ones((B, T), np.float32)
    key_mask[1, 40:] = 0
    v[1, 40:] = 3e38
    cases.append(_case(f"attention-{B}x{T}x{T}x{H}x{D}-padded-keys-hold-3e38", "attention",
                       ["@q", "@k", "@v", "@out", B, T, T, H, D], {"key_mask": "@m"},
                       {"q": _f32(q), "k": _f32(k), "v": _f32(v), "m": _f32(key_mask)}, {"out": 4 * B * T * H * D},
                       {"out": (attention_op.reference(q, k, v, key_mask), dict(rtol=1e-4, atol=2e-6 * T + 1e-6))}))
    return cases


def elementwise_cases():
    cases = []
    for n in [1, 3, 17, 127, 384]:
        x = np.random.default_rng(n).normal(0, 3, n).astype(np.float32)
        x[: min(n, 2)] = [-12.0, 12.0][: min(n, 2)]   # saturating tails of tanh / exp
        for act in ACTS[1:]:
            cases.append(_case(f"activation-{act}-{n}", "activation", ["@x", "@out", n, act], {}, {"x": _f32(x)},
                               {"out": 4 * n}, {"out": (ref_act(x, act).astype(np.float32), dict(rtol=1e-5, atol=1e-6))}))
        y = np.random.default_rng(n + 1).normal(0, 3, n).astype(np.float32)
        cases.append(_case(f"add-{n}", "add", ["@x", "@y", "@out", n], {}, {"x": _f32(x), "y": _f32(y)},
                           {"out": 4 * n}, {"out": (x + y, dict(rtol=0, atol=0))}))
        cases.append(_case(f"mul-{n}", "mul", ["@x", "@y", "@out", n], {}, {"x": _f32(x), "y": _f32(y)},
                           {"out": 4 * n}, {"out": (x * y, dict(rtol=0, atol=0))}))
    return cases


def batched_matmul_cases():
    cases = []
    for i, (batch, M, K, N, tb, bcast) in enumerate([(1, 1, 1, 1, False, False), (3, 17, 5, 9, False, False),
                                                     (2, 7, 33, 17, True, False), (4, 3, 16, 127, True, True),
                                                     (2, 127, 32, 40, False, True)]):
        rng = np.random.default_rng(6000 + i)
        a = rng.uniform(-1, 1, (batch, M, K)).astype(np.float32)
        shape = (N, K) if tb else (K, N)
        b = rng.uniform(-1, 1, shape if bcast else (batch, *shape)).astype(np.float32)
        want = matmul_op.batched_reference(a, np.broadcast_to(b, (batch, *shape)), transpose_b=tb)
        cases.append(_case(f"matmul_batched-{batch}x{M}x{K}x{N}{'-bT' if tb else ''}{'-bcast' if bcast else ''}",
                           "matmul_batched", ["@a", "@b", "@out", batch, M, K, N],
                           {"transpose_b": tb, "b_batch_stride": 0 if bcast else K * N},
                           {"a": _f32(a), "b": _f32(b)}, {"out": 4 * batch * M * N}, {"out": (want, _tol_f32(K))}))
    return cases


def copy_cases():
    cases = []
    x = np.random.default_rng(8000).normal(0, 1, (2, 5, 3, 7)).astype(np.float32)
    # a transposed view [2, 3, 5, 7] made contiguous, and a 2-D column slice
    view = x.transpose(0, 2, 1, 3)
    strides = [s // 4 for s in view.strides]
    cases.append(_case("copy-transposed-view", "copy", ["@x", "@out", list(view.shape), strides], {}, {"x": _f32(x)},
                       {"out": 4 * x.size}, {"out": (np.ascontiguousarray(view), dict(rtol=0, atol=0))}))
    m = x.reshape(10, 21)
    cases.append(_case("copy-column-slice", "copy", ["@x+12", "@out", [10, 4], [21, 1]], {}, {"x": _f32(m)},
                       {"out": 4 * 40}, {"out": (np.ascontiguousarray(m[:, 3:7]), dict(rtol=0, atol=0))}))
    # concat along the last axis: the second part lands at column 7 of a [10, 11] output
    y = np.random.default_rng(8001).normal(0, 1, (10, 4)).astype(np.float32)
    concat = np.zeros((10, 11), np.float32)
    concat[:, 7:] = y
    cases.append(_case("copy-into-concat", "copy", ["@y", "@out+28", [10, 4], [4, 1]], {"dst_strides": [11, 1]},
                       {"y": _f32(y), "out": _f32(np.zeros((10, 11)))}, {"out": 4 * 110},
                       {"out": (concat, dict(rtol=0, atol=0))}))
    return cases


def rotary_cases():
    cases = []
    for i, (B, T, H, D, R, off, fused) in enumerate([(1, 1, 1, 2, None, 0, False), (2, 17, 3, 32, None, 5, False),
                                                     (1, 9, 2, 64, 32, 0, True), (2, 3, 4, 12, 8, 100, False)]):
        rng = np.random.default_rng(7000 + i)
        x = rng.normal(0, 1, (B, T, H, D)).astype(np.float32)
        kw = {"pos_offset": off, "rotary_dim": R}
        if fused:   # x is the q part of a [B, T, 3, H, D] buffer
            buf = np.stack([x, x * 0 + 7, x * 0 - 7], axis=2)
            inputs = {"x": _f32(buf)}
            kw["x_strides"] = [T * 3 * H * D, 3 * H * D, D]
        else:
            inputs = {"x": _f32(x)}
        want = rotary_op.reference(x, 10000.0, off, R)
        cases.append(_case(f"rotary-{B}x{T}x{H}x{D}-R{R}-off{off}{'-fused' if fused else ''}", "rotary",
                           ["@x", "@out", B, T, H, D], kw, inputs, {"out": 4 * x.size},
                           {"out": (want, dict(rtol=1e-5, atol=1e-5))}))
    return cases


def gather_cases():
    cases = []
    B, S, C, V = 2, 17, 33, 50
    rng = np.random.default_rng(5000)
    ids = rng.integers(0, V, (B, S)).astype(np.int32)
    types = rng.integers(0, 2, (B, S)).astype(np.int32)
    word = rng.normal(0, 1, (V, C)).astype(np.float32)
    pos, tt = rng.normal(0, 1, (S, C)).astype(np.float32), rng.normal(0, 1, (2, C)).astype(np.float32)
    for dtype in ["f32", "f16", "q8"]:
        inputs = {"ids": ids.tobytes(), "t": types.tobytes(), "p": _f32(pos), "tt": _f32(tt)}
        kw = {"pos": "@p", "token_type": "@tt", "type_ids": "@t", "dtype": dtype}
        if dtype == "f32":
            inputs["w"], w_eff = _f32(word), word
        elif dtype == "f16":
            inputs["w"], w_eff = pack.pack_f16(word), word.astype(np.float16).astype(np.float32)
        else:
            inputs["w"], inputs["s"] = pack.quantize_q8(word)
            w_eff, kw["scales"] = pack.dequantize_q8(inputs["w"], inputs["s"], V, C), "@s"
        want = embedding_op.reference(ids, w_eff, pos, types, tt)
        cases.append(_case(f"embedding-{dtype}", "embedding", ["@ids", "@out", B, S, C, V, "@w"], kw, inputs,
                           {"out": 4 * B * S * C}, {"out": (want, dict(rtol=1e-6, atol=1e-6))}))
    # a decoding step: positions start at pos_offset
    cases.append(_case("embedding-pos-offset", "embedding", ["@ids", "@out", 1, 3, C, V, "@w"],
                       {"pos": "@p", "pos_offset": 5}, {"ids": ids[0, :3].copy().tobytes(), "w": _f32(word), "p": _f32(pos)},
                       {"out": 4 * 3 * C},
                       {"out": (embedding_op.reference(ids[:1, :3], word, pos, pos_offset=5), dict(rtol=1e-6, atol=1e-6))}))
    # no position / token-type tables
    cases.append(_case("embedding-word-only", "embedding", ["@ids", "@out", B, S, C, V, "@w"], {},
                       {"ids": ids.tobytes(), "w": _f32(word)}, {"out": 4 * B * S * C},
                       {"out": (word[ids], dict(rtol=0, atol=0))}))
    for B, S, C in [(1, 1, 1), (2, 17, 33), (3, 127, 384)]:
        rng = np.random.default_rng(B * S * C)
        x = rng.normal(0, 1, (B, S, C)).astype(np.float32)
        mask = (rng.uniform(size=(B, S)) < 0.7).astype(np.float32)
        mask[:, 0] = 1
        cases.append(_case(f"mean_pool-{B}x{S}x{C}", "mean_pool", ["@x", "@m", "@out", B, S, C], {},
                           {"x": _f32(x), "m": _f32(mask)}, {"out": 4 * B * C},
                           {"out": (pooling_op.reference(x, mask), dict(rtol=1e-5, atol=1e-6))}))
    for M, N in [(1, 1), (3, 17), (5, 384)]:
        x = np.random.default_rng(M * N).integers(-3, 4, (M, N)).astype(np.float32)   # many ties: first index wins
        cases.append(_case(f"argmax-{M}x{N}", "argmax", ["@x", "@out", M, N], {}, {"x": _f32(x)}, {"out": 4 * M},
                           {"out": (argmax_op.reference(x), dict(rtol=0, atol=0))}))
    return cases


def error_cases():
    """Bad input must raise with a message that says what is wrong."""
    ids = np.array([[0, 7]], np.int32)
    word = np.zeros((5, 4), np.float32)
    return [
        _case("error-embedding-id", "embedding", ["@ids", "@out", 1, 2, 4, 5, "@w"], {},
              {"ids": ids.tobytes(), "w": _f32(word)}, {"out": 32}, {"error": "index is out of range"}),
        _case("error-matmul-shape", "matmul", ["@x", "@x", "@out", 0, 4, 4], {}, {"x": _f32(np.zeros(16))},
              {"out": 64}, {"error": "bad shape"}),
        _case("error-matmul-act", "matmul", ["@x", "@x", "@out", 1, 4, 4], {"act": "gelu_fast"},
              {"x": _f32(np.zeros(16))}, {"out": 64}, {"error": "unknown activation 'gelu_fast'"}),
    ]


def all_cases(qmax):
    return (matmul_cases(qmax=qmax) + pack_cases() + norm_cases() + softmax_cases() + attention_cases()
            + elementwise_cases() + batched_matmul_cases() + rotary_cases() + copy_cases() + gather_cases() + error_cases())


def wire(case) -> dict:
    """The part of a case that travels to the browser (no references)."""
    return {k: case[k] for k in ("id", "op", "args", "kwargs", "inputs", "outputs")}


def compare(case, got: dict) -> None:
    """Assert one case's browser outputs against its references."""
    if "error" in case["check"]:
        assert "error" in got, f"{case['id']}: expected an error, the kernel returned"
        assert case["check"]["error"] in got["error"], got["error"]
        return
    assert "error" not in got, f"{case['id']}: {got.get('error')}"
    for name, spec in case["check"].items():
        if name.startswith("_"):
            continue
        want, tol = spec
        out = np.frombuffer(got[name], want.dtype)[: want.size].reshape(want.shape)
        np.testing.assert_allclose(out, want, err_msg=case["id"], **tol)
    if "_q8_vs_float" in case["check"]:   # integer x stays close to the float (weight-only) result
        exact, limit = case["check"]["_q8_vs_float"]
        out = np.frombuffer(got["out"], np.float32).reshape(exact.shape)
        rel = np.linalg.norm(out - exact) / max(np.linalg.norm(exact), 1e-6)
        assert rel < limit, f"{case['id']}: relative error {rel:.2e} vs float weights (limit {limit})"


async def run_cases(urls_json: str, variant: str, threads: int, cases: list) -> dict:
    """Runs inside Pyodide: every case through CpuKernels; returns {"info", "results": {id: {name: bytes}}}.
    "@name" arguments are pointers to inputs/outputs; "@name+N" is N bytes past one."""
    import json

    from staticml.cpu.kernels import CpuKernels

    cpu = await CpuKernels.load(json.loads(urls_json), variant=variant, threads=threads)
    results = {}
    for case in cases:
        mark = cpu.mark()
        ptrs = {name: cpu.upload(data) for name, data in case["inputs"].items()}
        ptrs.update({name: cpu.alloc(n) for name, n in case["outputs"].items() if name not in ptrs})  # else in-place

        def resolve(v):
            if isinstance(v, str) and v.startswith("@"):
                name, _, off = v[1:].partition("+")
                return ptrs[name] + int(off or 0)
            return v

        try:
            getattr(cpu, case["op"])(*map(resolve, case["args"]), **{k: resolve(v) for k, v in case["kwargs"].items()})
            results[case["id"]] = {name: cpu.read(ptrs[name], n) for name, n in case["outputs"].items()}
        except Exception as e:  # the error text is what the test checks
            results[case["id"]] = {"error": str(e)}
        cpu.reset(mark)
    return {"info": cpu.info, "results": results}
