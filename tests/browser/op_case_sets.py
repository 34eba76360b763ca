"""The op test cases shared by the WebGPU (test_ops_kernels.py) and CPU (test_ops_cpu.py) runs: each
set is a list of plain-dict cases (staticml.runtime.opcases) with random data and the tolerance context
each needs. Sizes include 1, 3, 17, 127, 384 and 1536 (never tile multiples together)."""
import numpy as np

from staticml import quant
from staticml.ops import tolerance
from staticml.runtime import opcases
from staticml.runtime.numpy_backend import NumpyBackend


def check_outputs(cases: "Cases", outs: list) -> None:
    """Each case's output bytes from the browser against the same case run natively on the numpy backend
    (whose ops ARE the references), within ops/tolerance.py; every failure is listed."""
    np_be = NumpyBackend()
    failures = []
    for case, got_bytes in zip(cases.items, outs, strict=True):
        plan, inputs = opcases.build(np_be, case)
        ref = np_be.compile_sync(plan).run_arrays(inputs)["out"]
        got = np.frombuffer(got_bytes, ref.dtype).reshape(ref.shape)
        try:
            tolerance.check(case["op"], got, ref, **case["ctx"])
        except AssertionError as e:
            failures.append(f"{case['name']}: {e}")
    assert not failures, "\n".join(failures)


class Cases:
    """Accumulates cases with random data, and the tolerance context each needs."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.items = []

    def f32(self, shape, lo=-1.0, hi=1.0) -> bytes:
        return self.rng.uniform(lo, hi, shape).astype(np.float32).tobytes()

    def add(self, name, op, args, data, params=None, ctx=None, positional=False):
        self.items.append({"name": name, "op": op, "args": args, "data": data, "params": params or {},
                           "ctx": ctx or {}, "positional": positional})

    def linear(self, M, K, N, wdtype="f32", act="none", bias=False, residual=False):
        w = self.rng.uniform(-1, 1, (N, K)).astype(np.float32)
        words, scales = quant.pack(w, wdtype)
        data = {"x": self.f32((M, K)), "w.words": words.tobytes()}
        if scales is not None:
            data["w.scales"] = scales.tobytes()
        args = {"x": {"input": [M, K]}, "w": {"weight": [N, K], "wdtype": wdtype}}
        if bias:
            args["bias"] = {"const": [N]}
            data["bias"] = self.f32((N,))
        if residual:
            args["residual"] = {"input": [M, N]}
            data["residual"] = self.f32((M, N))
        self.add(f"linear_{wdtype}_{act}_{M}x{K}x{N}", "linear", args, data, {"act": act}, {"K": K, "scale": 1.0})


def linear_cases() -> "Cases":
    """Every weight dtype and fused epilogue."""
    c = Cases(1)
    shapes = [(1, 1, 1), (3, 17, 127), (17, 127, 3), (1, 384, 1536), (17, 1536, 384), (127, 3, 17), (3, 384, 17),
              (130, 40, 131),  # two 128x128 tiles each way (main_128), K not a multiple of 16
              (20, 301, 9)]    # main_skinny: two 16-row tiles, K past two 128-steps and not a multiple of 4
    for wdtype in quant.DTYPES:
        for M, K, N in shapes:
            c.linear(M, K, N, wdtype)
        c.linear(17, 384, 127, wdtype, "gelu_erf", bias=True)
    for act in ("gelu_erf", "gelu_tanh", "silu", "relu"):
        c.linear(17, 127, 127, "f32", act, bias=True, residual=True)
    c.linear(3, 384, 17, "q8", "none", residual=True)
    return c


def matmul_cases() -> "Cases":
    """Batched a @ b and a @ b^T."""
    c = Cases(2)
    for B, M, K, N in [(1, 1, 1, 1), (3, 17, 127, 3), (2, 127, 17, 65), (1, 3, 384, 17)]:
        for tb in (False, True):
            bshape = [B, N, K] if tb else [B, K, N]
            c.add(f"matmul_{B}x{M}x{K}x{N}_t{int(tb)}", "matmul", {"a": {"input": [B, M, K]}, "b": {"input": bshape}},
                  {"a": c.f32((B, M, K)), "b": c.f32(bshape)}, {"transpose_b": tb}, {"K": K})
    return c


def elementwise_cases() -> "Cases":
    """add/mul (with broadcast), norms, argmax, softmax with masks, mean pooling."""
    c = Cases(3)
    for op in ("add", "mul"):
        for shape, bshape in [([1], [1]), ([3, 17], [3, 17]), ([17, 127], [127]), ([3, 1536], [1536]), ([70000], [70000])]:
            c.add(f"{op}_{shape}_{bshape}", op, {"a": {"input": shape}, "b": {"input": bshape}},
                  {"a": c.f32(shape), "b": c.f32(bshape)})
    for R, C in [(1, 1), (3, 17), (17, 384), (2, 1536), (127, 3)]:
        data = {"x": c.f32((R, C), -3, 5), "gamma": c.f32((C,)), "beta": c.f32((C,))}
        c.add(f"layer_norm_{R}x{C}", "layer_norm", {"x": {"input": [R, C]}, "gamma": {"const": [C]},
                                                     "beta": {"const": [C]}}, data, {"eps": 1e-12})
        c.add(f"rms_norm_{R}x{C}", "rms_norm", {"x": {"input": [R, C]}, "gamma": {"const": [C]}},
              {k: data[k] for k in ("x", "gamma")}, {"eps": 1e-6})
        c.add(f"l2_{R}x{C}", "l2_normalize", {"x": {"input": [R, C]}}, {"x": data["x"]})
        c.add(f"argmax_{R}x{C}", "argmax", {"x": {"input": [R, C]}}, {"x": data["x"]})
    ties = np.zeros((3, 17), np.float32)
    ties[1, [4, 9]] = 1.0  # first maximum wins
    c.add("argmax_ties", "argmax", {"x": {"input": [3, 17]}}, {"x": ties.tobytes()})
    for shape, mrows in [([1, 1], None), ([3, 17], 3), ([2, 3, 5, 127], 2), ([4, 384], 1), ([1, 1536], None)]:
        C = shape[-1]
        args = {"x": {"input": shape}}
        data = {"x": c.f32(shape, -8, 8)}
        if mrows:
            args["mask"] = {"input": [mrows, C]}
            m = np.where(c.rng.random((mrows, C)) < 0.3, -1e4, 0.0).astype(np.float32)
            m[:, 0] = 0.0
            data["mask"] = m.tobytes()
        c.add(f"softmax_{shape}", "softmax", args, data, {"scale": 0.125})
    for B, T, C in [(1, 1, 1), (3, 17, 5), (2, 127, 384), (1, 3, 1536)]:
        mask = (c.rng.random((B, T)) < 0.7).astype(np.float32)
        mask[:, 0] = 1.0
        c.add(f"mean_pool_{B}x{T}x{C}", "mean_pool", {"x": {"input": [B, T, C]}, "mask": {"input": [B, T]}},
              {"x": c.f32((B, T, C)), "mask": mask.tobytes()}, ctx={})
    return c


def embedding_attention_view_cases() -> "Cases":
    """Embedding, attention on views of a fused QKV, rotary, copies of views, concat."""
    c = Cases(4)
    for B, T, C, V in [(1, 1, 1, 1), (2, 17, 384, 127), (3, 3, 1536, 17)]:
        ids = c.rng.integers(0, V, (B, T)).astype(np.int32)
        types = c.rng.integers(0, 2, (B, T)).astype(np.int32)
        c.add(f"embedding_{B}x{T}x{C}", "embedding",
              {"ids": {"input": [B, T], "dtype": "i32"}, "table": {"const": [V, C]}, "pos_table": {"const": [T + 5, C]},
               "type_ids": {"input": [B, T], "dtype": "i32"}, "type_table": {"const": [2, C]}},
              {"ids": ids.tobytes(), "table": c.f32((V, C)), "pos_table": c.f32((T + 5, C)),
               "type_ids": types.tobytes(), "type_table": c.f32((2, C))}, {"pos_offset": 2})
        c.add(f"embedding_plain_{B}x{T}x{C}", "embedding", {"ids": {"input": [B, T], "dtype": "i32"},
                                                            "table": {"const": [V, C]}},
              {"ids": ids.tobytes(), "table": c.f32((V, C))})
    # attention on views into one fused QKV projection [B, T, 3*H*D], with padding and causal masks
    for B, Tq, H, Hkv, D, causal in [(1, 1, 1, 1, 1, False), (2, 17, 3, 3, 32, False), (1, 127, 2, 2, 64, True),
                                     (2, 3, 4, 2, 17, True), (1, 70, 12, 12, 32, False), (1, 5, 1, 1, 256, False)]:
        W = (H + 2 * Hkv) * D
        mask = (c.rng.random((B, Tq)) < 0.8).astype(np.float32)
        mask[:, 0] = 1.0
        if B > 1:
            mask[1, :] = 0.0  # a fully padded sequence: zeros, never NaN
        c.add(f"attention_{B}x{Tq}x{H}/{Hkv}x{D}_c{int(causal)}", "attention",
              {"qkv": {"input": [B, Tq, W], "helper": True},
               "q": {"view": "qkv", "slice": [2, 0, H * D], "unflatten": [2, [H, D]]},
               "k": {"view": "qkv", "slice": [2, H * D, (H + Hkv) * D], "unflatten": [2, [Hkv, D]]},
               "v": {"view": "qkv", "slice": [2, (H + Hkv) * D, W], "unflatten": [2, [Hkv, D]]},
               "key_mask": {"input": [B, Tq]}},
              {"qkv": c.f32((B, Tq, W), -2, 2), "key_mask": mask.tobytes()}, {"causal": causal},
              {"scale": 4.0})
    # cross-length causal attention (Tq < Tk, as with a KV cache) without a mask
    c.add("attention_cached", "attention", {"q": {"input": [1, 3, 2, 8]}, "k": {"input": [1, 17, 2, 8]},
                                            "v": {"input": [1, 17, 2, 8]}},
          {"q": c.f32((1, 3, 2, 8)), "k": c.f32((1, 17, 2, 8)), "v": c.f32((1, 17, 2, 8))}, {"causal": True})
    # the query-tiled kernel (D <= 64) across query blocks and key tiles: D = 48 pads to 64 (16-key tiles),
    # Tq = 70 < Tk = 150 causal (two 64-query blocks, offset 80), GQA 4/2, a mask, an explicit scale
    mask = (c.rng.random((2, 150)) < 0.6).astype(np.float32)
    mask[1, :] = 0.0
    c.add("attention_tiled_cached_gqa", "attention",
          {"q": {"input": [2, 70, 4, 48]}, "k": {"input": [2, 150, 2, 48]}, "v": {"input": [2, 150, 2, 48]},
           "key_mask": {"input": [2, 150]}},
          {"q": c.f32((2, 70, 4, 48)), "k": c.f32((2, 150, 2, 48)), "v": c.f32((2, 150, 2, 48)),
           "key_mask": mask.tobytes()}, {"causal": True, "scale": 0.3})
    for B, T, H, D, R, off in [(1, 1, 1, 2, 2, 0), (2, 17, 3, 64, 64, 5), (1, 3, 2, 128, 64, 40), (1, 127, 1, 32, 32, 0)]:
        c.add(f"rotary_{B}x{T}x{H}x{D}_r{R}", "rotary", {"x": {"input": [B, T, H, D]}},
              {"x": c.f32((B, T, H, D))}, {"theta": 10000.0, "pos_offset": off, "rotary_dim": R},
              {"max_pos": off + T})
    # views: a transpose made dense, a column slice made dense, concat along two axes
    c.add("transpose_copy", "contiguous", {"src": {"input": [3, 17, 127], "helper": True},
                                           "x": {"view": "src", "transpose": [0, 2]}}, {"src": c.f32((3, 17, 127))})
    c.add("slice_copy", "contiguous", {"src": {"input": [17, 384], "helper": True},
                                       "x": {"view": "src", "slice": [1, 3, 20]}}, {"src": c.f32((17, 384))})
    for axis in (0, 2):
        shapes = [[3, 5, 17], [1, 5, 17]] if axis == 0 else [[3, 5, 1], [3, 5, 127]]
        c.add(f"concat_axis{axis}", "concat", {"tensors": {"list": [{"input": s} for s in shapes]}},
              {f"tensors.{i}": c.f32(s) for i, s in enumerate(shapes)}, {"axis": axis})
    return c


def drawn_cases(M, K, N, wdtype, act, rows, C) -> "Cases":
    """Linear + a row-reduction chain at shapes hypothesis draws."""
    c = Cases(M * 1000 + K)
    c.linear(M, K, N, wdtype, act, bias=True)
    data = {"x": c.f32((rows, C), -4, 4), "gamma": c.f32((C,)), "beta": c.f32((C,))}
    c.add("layer_norm", "layer_norm", {"x": {"input": [rows, C]}, "gamma": {"const": [C]}, "beta": {"const": [C]}},
          data, {"eps": 1e-5})
    c.add("softmax", "softmax", {"x": {"input": [rows, C]}}, {"x": data["x"]}, {"scale": 1.0})
    return c
