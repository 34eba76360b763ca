"""Linear kernels (shaders/linear.wgsl): out = act(x @ W^T + bias) + residual, weights f32/f16/q8/q4.

Register-tiled kernels on real GPUs: `main`, a 64x64 output tile per workgroup of 16x16 threads, each
thread 4x4 outputs, K walked 32 at a time through workgroup memory; and `main_128` for large M, a
128x128 tile, 8x8 outputs per thread, K in steps of 16 (twice the multiply-adds per workgroup-memory
load), chosen when its grid still gives every SM-sized slot >= 2 workgroups (`big_tiles`).
`main_skinny` for few rows (`skinny`: a short query, a search's query against a corpus): a
16-row x 8-column tile per workgroup whose 256 threads split K in 32 lanes, so even M = 1 gets N / 8
workgroups. Where `main`'s grid is small (`k_splits`), it runs split-K: workgroup z sums one slice of
K into a scratch buffer and `splitk_sum` adds the slices and applies the epilogue (two dispatches).
`main_direct` (no workgroup memory) serves CPU-emulated adapters. Weights are [N, K] in the packed layouts of
`staticml.quant`; dequantization happens while the weight tile is loaded (never a separate pass).
The same kernel runs the batched f32 `matmul` op (b as [B, K, N] or [B, N, K]) with workgroup z = batch.
"""
import dataclasses
from dataclasses import dataclass

from .. import quant
from ..shaders import load_wgsl
from .dispatch import DUMMY, UNUSED, Dispatch, Scratch, ceil_div, grid
from .uniforms import Uniforms

TM, TN, TK = 64, 64, 32
BIG_TILE, BIG_TK = 128, 16  # main_128
# main_128 only when its grid has at least this many workgroups: 2 per SM of a large GPU (the H100
# has 132); below that the 4x larger tiles leave SMs idle and the 64x64 kernel is faster
BIG_MIN_WORKGROUPS = 264
SKINNY_ROWS, SKINNY_COLS = 16, 8  # main_skinny's tile
# main_skinny up to this many rows (it re-reads the weights once per 16 rows, from L2; main once per 64), and
# above SKINNY_WIDE_M rows only where N <= K: wide outputs (MiniLM's 384 -> 1536) re-read the most weights.
# GPU time per linear on an H200 against main with its swizzle (bench/results/h200-2026-11-21-skinny.json):
# skinny 1.5-5.6x faster at M <= 64, at M = 128-256 1.6-3.8x where N <= K but 0.7-1.1x where N > K, 0.3-0.7x at
# M = 1024
SKINNY_MAX_M = 256
SKINNY_WIDE_M = 64
# Split-K for `main` (k_splits): a workgroup walks K in a chain of K / 32 steps (a global load, a barrier, 512
# multiply-adds per thread), so a long K on a small grid leaves SMs idle: on an H200 a 1536 -> 384 linear took
# ~100 us at M = 112 (12 workgroups) and at M = 1024 (96) alike. Cutting K into slices multiplies the workgroups
# and shortens the chain, but the second pass (splitk_sum) costs 7-18 us, and at M = 1024 a K = 384 linear's first
# pass hardly got faster. Measured per slice count on MiniLM's shapes (bench/results/h200-2026-11-22-splitk.json):
# K >= 1024 on a grid under SPLIT_MIN_WORKGROUPS gains in slices of SPLIT_STEPS steps (1024 x 1536 -> 384: 98 -> 83
# us f32, 114 -> 86 q8, 4 slices); a grid of at most SPLIT_SMALL_GRID workgroups gains from 2 slices of K >=
# SPLIT_SMALL_MIN_K (112 x 384 -> 1152 and -> 1536: 58-68 -> 53-56 us); 2 to 4 slices of K = 384 at 72-96
# workgroups lost 0-25 us.
SPLIT_MIN_WORKGROUPS = 264
SPLIT_MIN_K = 1024
SPLIT_STEPS = 12
SPLIT_SMALL_GRID = 48
SPLIT_SMALL_MIN_K = 256
# at most this many slices (measured up to 6): bounds the scratch at 8 x 264 x 64 x 64 floats (35 MB), well inside
# WebGPU's default 128 MiB per storage binding, whatever K a model has
SPLIT_MAX_SLICES = 8
SPLIT_SUM_GROUP = 256   # splitk_sum's workgroup size: one output per thread
# W_KIND constants of linear.wgsl; "f32_kn" is a dense [K, N] right-hand side (batched matmul)
W_KINDS = {"f32": 0, "f16": 1, "q8": 2, "q4": 3, "f32_kn": 4}
ACTS = {"none": 0, "gelu_erf": 1, "gelu_tanh": 2, "silu": 3, "relu": 4}

# How f16 weight pairs become f32: in-shader bit unpacking everywhere; the native f16 type only
# when the device has `shader-f16` (SwiftShader has not). Both read the same packed words.
_F16_UNPACK = "fn unpack_f16_pair(word: u32) -> vec2<f32> { return unpack2x16float(word); }\n"
_F16_NATIVE = "enable f16;\nfn unpack_f16_pair(word: u32) -> vec2<f32> { return vec2<f32>(bitcast<vec2<f16>>(word)); }\n"


@dataclass(frozen=True)
class LinearUniforms(Uniforms):
    M: "u32"
    K: "u32"
    N: "u32"
    row_words: "u32"   # u32 words per weight row (quant.row_words); N for a [K, N] operand
    n_groups: "u32"    # q4 scale groups per row
    x_batch: "u32"     # elements between batches of x (0 = shared)
    w_batch: "u32"     # words between batches of the weight (0 = shared weights)
    out_batch: "u32"   # elements between batches of out
    act: "u32"         # ACTS code; the epilogue flags are uniforms (not constants) so one
    has_bias: "u32"    # pipeline per weight kind serves every epilogue: SwiftShader takes
    has_res: "u32"     # ~3 s to compile each variant, a uniform branch per output costs nothing
    k_chunk: "u32" = 0  # split-K: K per slice (workgroup z sums k in [z * k_chunk, (z + 1) * k_chunk)); 0 = all of K
    splits: "u32" = 1   # split-K: slices splitk_sum adds


DIRECT_TILE = 32  # main_direct: 8x8 invocations x 4x4 outputs, no workgroup memory


def f16_native(features) -> bool:
    return "shader-f16" in (features or ())


def variant(software: bool) -> str:
    """"direct" on CPU-emulated adapters (SwiftShader: workgroup memory and barriers only cost there),
    "tiled" on real GPUs (shared-memory tiles; per shape main_skinny, 64x64 or 128x128: `tiles`)."""
    return "direct" if software else "tiled"


def big_tiles(M: int, N: int, batch: int = 1, software: bool = False, force: bool = None) -> bool:
    """main_128 for this shape? force (tests) overrides the grid-size rule; never on software adapters."""
    if software:
        return False
    if force is not None:
        return force
    return ceil_div(M, BIG_TILE) * ceil_div(N, BIG_TILE) * batch >= BIG_MIN_WORKGROUPS


def skinny(M: int, software: bool = False, force: bool = None, N: int = 0, K: int = 0) -> bool:
    """main_skinny for M rows of K -> N? force (tests, benchmarks) overrides the rule; never on software adapters."""
    if software:
        return False
    if force is not None:
        return force
    return M <= SKINNY_WIDE_M or (M <= SKINNY_MAX_M and N <= K)


def tiles(M: int, N: int, batch: int = 1, software: bool = False, big: bool = None, thin: bool = None,
          K: int = 0) -> str:
    """Which kernel runs this M x K -> N shape: "direct" (software adapters), "skinny", "big" (main_128) or "tiled".
    big / thin force main_128 / main_skinny on or off (None: the shape decides; thin wins over big)."""
    if software:
        return "direct"
    if skinny(M, software, thin, N, K):
        return "skinny"
    return "big" if big_tiles(M, N, batch, software, big) else "tiled"


def k_splits(M: int, N: int, K: int, tile: str = "tiled", force: int = None) -> tuple[int, int]:
    """(slices, k per slice) for `main` on an M x K -> N linear: (1, K) for no split. force (tests, benchmarks):
    this many slices, as far as K has TK-steps for them; other tiles never split."""
    steps = ceil_div(K, TK)
    if tile != "tiled":
        return 1, K
    if force is not None:
        want = force
    else:
        groups = ceil_div(M, TM) * ceil_div(N, TN)
        if groups < SPLIT_MIN_WORKGROUPS and K >= SPLIT_MIN_K:
            want = min(steps // SPLIT_STEPS, SPLIT_MAX_SLICES)
        else:
            want = 2 if groups <= SPLIT_SMALL_GRID and K >= SPLIT_SMALL_MIN_K else 1
    if want <= 1 or steps < 2:
        return 1, K
    chunk = ceil_div(steps, min(want, steps))   # TK-steps per slice; no slice is empty
    return ceil_div(steps, chunk), chunk * TK


_SHAPE_KEYS = {"direct": "direct32x32", "skinny": f"skinny{SKINNY_ROWS}x{SKINNY_COLS}",
               "big": f"{BIG_TILE}x{BIG_TILE}x{BIG_TK}", "tiled": f"{TM}x{TN}x{TK}"}
_ENTRIES = {"direct": "main_direct", "skinny": "main_skinny", "big": "main_128", "tiled": "main"}
_TILES = {"direct": (DIRECT_TILE, DIRECT_TILE), "skinny": (SKINNY_COLS, SKINNY_ROWS),   # (columns, rows)
          "big": (BIG_TILE, BIG_TILE), "tiled": (TN, TM)}


def kernel_key(w_kind: str, native_f16: bool = False, tile: str = "tiled") -> str:
    kind = w_kind + ("native" if native_f16 and w_kind == "f16" else "")
    return f"linear_{kind}_{_SHAPE_KEYS[tile]}"


def entry(tile: str = "tiled") -> str:
    return _ENTRIES[tile]


def source(w_kind: str, native_f16: bool = False) -> str:
    if w_kind not in W_KINDS:
        raise ValueError(f"unknown weight kind {w_kind!r}; expected one of {sorted(W_KINDS)}")
    head = _F16_NATIVE if native_f16 and w_kind == "f16" else _F16_UNPACK
    return head + LinearUniforms.wgsl_struct() + f"const W_KIND: u32 = {W_KINDS[w_kind]}u;\n" + load_wgsl("linear")


def workgroups(M: int, N: int, batch: int = 1, tile: str = "tiled") -> tuple[int, int, int]:
    cols, rows = _TILES[tile]
    return ceil_div(N, cols), ceil_div(M, rows), batch


def _opt(t):
    return DUMMY if t is None else t


def encode_linear(node, features=(), software=False, big=None, thin=None, splits=None) -> list:
    """The linear's dispatches: one, or for split-K (`k_splits`; `splits` forces it) `main` into a scratch of
    [slices, M, N] raw sums, then `splitk_sum` (sum + epilogue) into the output."""
    x, w, bias, res = (node.inputs[k] for k in ("x", "w", "bias", "residual"))
    act = node.params["act"]
    M = x.numel // w.K
    native = f16_native(features)
    if act not in ACTS:
        raise ValueError(f"unknown activation {act!r}; expected one of {sorted(ACTS)}")
    u = LinearUniforms(M=M, K=w.K, N=w.N, row_words=quant.row_words(w.dtype, w.K),
                       n_groups=quant.groups(w.K), x_batch=0, w_batch=0, out_batch=0,
                       act=ACTS[act], has_bias=int(bias is not None), has_res=int(res is not None))
    tile = tiles(M, w.N, 1, software, big, thin, w.K)
    key, src, entry_point = kernel_key(w.dtype, native, tile=tile), source(w.dtype, native), entry(tile)
    n_split, chunk = k_splits(M, w.N, w.K, tile, splits)
    if n_split == 1:
        return [Dispatch(key, src, entry_point, u.pack(), [x, w.words, _opt(w.scales), _opt(bias), _opt(res), node.out],
                         workgroups(M, w.N, 1, tile))]
    sums = Scratch(n_split * M * w.N * 4)   # [slices, M, N] f32
    # slice z's raw sums at z * M * N: no epilogue; out_batch places them (x and w are shared: batch strides 0)
    part = dataclasses.replace(u, out_batch=M * w.N, act=0, has_bias=0, has_res=0, k_chunk=chunk)
    total = dataclasses.replace(u, splits=n_split)
    return [Dispatch(key, src, entry_point, part.pack(), [x, w.words, _opt(w.scales), DUMMY, DUMMY, sums],
                     workgroups(M, w.N, n_split, tile)),
            Dispatch(SPLIT_SUM_KEY, source("f32"), "splitk_sum", total.pack(), [sums, UNUSED, UNUSED, _opt(bias), _opt(res),
                                                                                node.out],
                     grid(ceil_div(M * w.N, SPLIT_SUM_GROUP)))]


SPLIT_SUM_KEY = "linear_splitk_sum"   # one pipeline for every weight kind: it reads only f32 sums


def encode_matmul(node, features=(), software=False, big=None, thin=None) -> list:
    a, b = node.inputs["a"], node.inputs["b"]
    tb = node.params["transpose_b"]
    batch = a.shape[0] if a.ndim == 3 else 1
    M, K = a.shape[-2], a.shape[-1]
    N = node.out.shape[-1]
    kind = "f32" if tb else "f32_kn"  # [N, K] is the weight layout; [K, N] the plain one
    u = LinearUniforms(M=M, K=K, N=N, row_words=K if tb else N, n_groups=0,
                       x_batch=M * K, w_batch=K * N, out_batch=M * N, act=0, has_bias=0, has_res=0)
    tile = tiles(M, N, batch, software, big, thin, K)
    return [Dispatch(kernel_key(kind, tile=tile), source(kind), entry(tile), u.pack(),
                     [a, b, DUMMY, DUMMY, DUMMY, node.out], workgroups(M, N, batch, tile))]


def _erf(x):
    import numpy as np

    try:
        from scipy.special import erf
    except ImportError:  # scipy is optional; math.erf is exact to double precision, only slower
        import math

        erf = np.frompyfunc(math.erf, 1, 1)
    return np.asarray(erf(x), dtype=np.float64)


def activation(v, act: str):
    """The epilogue activations, in float64."""
    import numpy as np

    v = np.asarray(v, np.float64)
    if act == "none":
        return v
    if act == "gelu_erf":
        return 0.5 * v * (1.0 + _erf(v / np.sqrt(2.0)))
    if act == "gelu_tanh":
        return 0.5 * v * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (v + 0.044715 * v ** 3)))
    if act == "silu":
        return v / (1.0 + np.exp(-v))
    if act == "relu":
        return np.maximum(v, 0.0)
    raise ValueError(f"unknown activation {act!r}; expected one of {sorted(ACTS)}")


def reference(x, w, bias=None, act: str = "none", residual=None):
    """act(x @ w.T + bias) + residual.   x [..., K], w float [N, K] (dequantized), bias [N], residual [..., N].
    Float64 accumulation rounded once to f32: the definition the GPU's f32 sums are measured against."""
    import numpy as np

    x = np.asarray(x, np.float64)
    # [..., K] -> [rows, K] first: numpy's stacked matmul skips BLAS and runs several times slower
    v = (x.reshape(-1, x.shape[-1]) @ np.asarray(w, np.float64).T).reshape(*x.shape[:-1], -1)
    if bias is not None:
        v = v + np.asarray(bias, np.float64)
    v = activation(v, act)
    if residual is not None:
        v = v + np.asarray(residual, np.float64)
    return v.astype(np.float32)


def reference_packed(x, words, scales, dtype: str, N: int, K: int, bias=None, act="none", residual=None):
    """`reference` with the weight given in its packed form (dequantized by quant.unpack first)."""
    return reference(x, quant.unpack(words, scales, dtype, N, K), bias, act, residual)
