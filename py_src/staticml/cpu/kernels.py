"""`CpuKernels`: one method per CPU kernel, driving site/cpu_glue.js (`staticml_cpu` in Pyodide).

Tensors live in the kernels' wasm memory and are named by plain int pointers (0 = absent); Python
only passes ints/floats, and bytes when it writes an input or reads a result, so weights never enter
the Python heap (`fetch_into` streams them from a URL into the wasm memory). Each method's numpy
definition is the matching `staticml.ops` reference (those not on this branch yet are defined in
tests/browser/cpu_cases.py). Shapes are in each docstring; all activations are f32, row-major.
"""
import json

from ..env import IN_PYODIDE
from .layout import DTYPES

if IN_PYODIDE:  # the one browser-only import of this module
    import js
    import staticml_cpu as _glue  # registered by the worker (or a test page)
else:
    _glue = None

ACT = {"none": 0, "gelu_erf": 1, "gelu_tanh": 2, "silu": 3, "relu": 4}
EMBED_DTYPES = {"f32": 0, "f16": 1, "q8": 2}
VARIANTS = ("auto", "simd128", "relaxed")
WASM_FILES = ("simd128", "relaxed", "simd128-threads", "relaxed-threads")


def _act(act: str) -> int:
    if act not in ACT:
        raise ValueError(f"unknown activation {act!r}: use one of {', '.join(ACT)}")
    return ACT[act]


def _u8(data) -> "js.Uint8Array":
    view = memoryview(data).cast("B")
    out = js.Uint8Array.new(view.nbytes)
    out.assign(view)
    return out


class CpuKernels:
    """The loaded kernels. `info` says which variant runs, on how many threads, and why."""

    def __init__(self, glue, info: dict):
        self._glue = glue
        self.info = info
        self.closed = False

    def unload(self) -> None:
        """Drop the kernels' instance: its wasm memory and pool workers go back to the browser, and every
        pointer handed out is invalid. (The glue holds one instance: a later `load` also replaces it.)"""
        self._glue.unload()
        self.closed = True

    def memory_bytes(self) -> int:
        """Size of the kernels' wasm memory (0 once unloaded): it grows with the weights, never shrinks."""
        return int(self._glue.memoryBytes())

    @classmethod
    async def load(cls, wasm_urls: dict, variant: str = "auto", threads: int = 1, glue=None) -> "CpuKernels":
        """wasm_urls: {"simd128": url, "relaxed": url, "simd128-threads": url, "relaxed-threads": url}.
        variant "auto" takes relaxed SIMD when the browser validates it; threads > 1 needs a
        cross-origin-isolated page (else it runs on one thread and `info["reasons"]` says so);
        threads=0 means one per logical core (at most 16, the kernels' limit)."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown CPU kernel variant {variant!r}: use one of {', '.join(VARIANTS)}")
        missing = [name for name in WASM_FILES if name not in wasm_urls]
        if missing:
            raise ValueError(f"wasm_urls lacks {', '.join(missing)}: pass the URLs of all kernels-*.wasm files")
        glue = glue or _glue
        if glue is None:
            raise RuntimeError("the CPU kernels run only in the browser (Pyodide); natively use the numpy references")
        info = json.loads(await glue.init(json.dumps(wasm_urls), variant, int(threads)))
        return cls(glue, info)

    # --- memory ---
    def alloc(self, nbytes: int) -> int:
        """A 64-byte aligned block of the wasm memory (bump arena: freed only by `reset`)."""
        if nbytes < 0:
            raise ValueError(f"cannot allocate {nbytes} bytes")
        return self._glue.alloc(int(nbytes))

    def mark(self) -> int:
        return self._glue.mark()

    def reset(self, mark: int) -> None:
        """Frees everything allocated since `mark()` returned `mark` (per-call temporaries)."""
        self._glue.reset(mark)

    def write(self, ptr: int, data) -> None:
        self._glue.write(ptr, _u8(data))

    def read(self, ptr: int, nbytes: int) -> bytes:
        return self._glue.read(ptr, nbytes).to_bytes()

    def upload(self, data) -> int:
        """alloc + write: a pointer to a copy of `data` (bytes-like) in the wasm memory."""
        ptr = self.alloc(memoryview(data).nbytes)
        self.write(ptr, data)
        return ptr

    async def fetch_into(self, ptr: int, url: str, offset: int, nbytes: int) -> None:
        """Fetch bytes [offset, offset+nbytes) of url straight into the wasm memory at ptr."""
        await self._glue.fetchInto(ptr, url, offset, nbytes)

    async def fetch_linear_weight(self, url: str, offset: int, dtype: str, N: int, K: int, *,
                                  rowmajor_f32: bool = True) -> int:
        """Fetch one Linear weight [N, K] from bytes [offset, ...) of url into the kernels' layout `dtype`
        and return its pointer. f32 shipped row-major (the GPU's layout) is packed into panels in the wasm
        memory (the raw copy is freed again); "q8p" fetches the shipped q8 bytes and packs them into q8p
        panels the same way (layout.CPU_LAYOUT["q8"]); f16/q8/q4 are used as shipped. Scales are fetched
        separately (`alloc` + `fetch_into`, layout.scale_count floats; q8p's are q8's)."""
        from .layout import weight_nbytes

        nbytes = weight_nbytes(dtype, N, K)
        packers = {"f32": (4 * N * K, self.pack_f32), "q8p": (weight_nbytes("q8", N, K), self.pack_q8),
                   "q8x7": (weight_nbytes("q8", N, K), self.pack_q8x7)}
        if dtype not in packers or (dtype == "f32" and not rowmajor_f32):
            ptr = self.alloc(nbytes)
            await self.fetch_into(ptr, url, offset, nbytes)
            return ptr
        raw_nbytes, pack = packers[dtype]
        ptr = self.alloc(nbytes)
        mark = self.mark()
        raw = self.alloc(raw_nbytes)
        try:
            await self.fetch_into(raw, url, offset, raw_nbytes)
            pack(raw, ptr, N, K)
        finally:
            self.reset(mark)
        return ptr

    # --- linear layers ---
    def pack_f32(self, w_rowmajor: int, out: int, N: int, K: int) -> None:
        """Row-major f32 W [N, K] at w_rowmajor -> panel layout at out (layout.weight_nbytes("f32", N, K))."""
        self._glue.packF32(w_rowmajor, out, N, K)

    def pack_q8(self, w_q8: int, out: int, N: int, K: int) -> None:
        """q8 W [N, K] (row-major int8, rows padded to 4 bytes) -> q8p panels at out
        (layout.weight_nbytes("q8p", N, K)); the scales stay as they are."""
        self._glue.packQ8(w_q8, out, N, K)

    def pack_q8x7(self, w_q8: int, out: int, N: int, K: int) -> None:
        """q8 W [N, K] (row-major int8, rows padded to 4 bytes) -> q8x7 panels and column sums at out
        (layout.weight_nbytes("q8x7", N, K)); the scales stay as they are."""
        self._glue.packQ8x7(w_q8, out, N, K)

    def matmul(self, x: int, w: int, out: int, M: int, K: int, N: int, *, dtype: str = "f32", scales: int = 0,
               bias: int = 0, residual: int = 0, act: str = "none", int8_activations: bool = False,
               fused_dot: bool = False, smooth: int = 0) -> None:
        """out[M, N] = act(x[M, K] @ W[N, K]^T + bias[N]) + residual[M, N], W in layout.py's `dtype` layout.
        q8p (q8 weights packed by `pack_q8`) is the fast q8 path: each row of x is rounded to int16
        (layout.q8_activation_max) and the sums are exact int32, as accurate as weight-only q8 and ~1.5x
        faster than f32. q8 (row-major) is weight-only (x stays f32, f32 speed) unless int8_activations:
        then x is rounded to int8 (PyTorch's dynamic quantization), which costs accuracy (shaders/README.md).
        q8x7 (q8 weights packed by `pack_q8x7`) rounds each row of x to 7 bits over its [min, max] for the relaxed
        int8 dot product: faster than q8p, less accurate (measured, not used by the model code; shaders/README.md);
        fused_dot picks the dot's form (one op: fast with VNNI; three: fast without), the results are the same;
        smooth (a pointer to K f32, 0 = none) multiplies x per input channel before the rounding: SmoothQuant's 1/s,
        for weights quantized as W * s."""
        if int8_activations and dtype != "q8":
            raise ValueError(f"int8_activations needs q8 weights, not {dtype!r}")
        if dtype not in DTYPES:
            raise ValueError(f"unknown weight dtype {dtype!r}: use one of {', '.join(DTYPES)}")
        if (fused_dot or smooth) and dtype != "q8x7":
            raise ValueError(f"fused_dot and smooth are q8x7 options, not ones of {dtype!r}")
        if dtype in ("q8", "q8p", "q8x7", "q4") and not scales:
            raise ValueError(f"{dtype} weights need their scales pointer")
        a = _act(act)
        if dtype == "f32":
            self._glue.matmulF32(x, w, bias, residual, out, M, K, N, a)
        elif dtype == "f16":
            self._glue.matmulF16(x, w, bias, residual, out, M, K, N, a)
        elif dtype == "q8p":
            self._glue.matmulQ8p(x, w, scales, bias, residual, out, M, K, N, a)
        elif dtype == "q8x7":
            self._glue.matmulQ8x7(x, w, scales, bias, residual, out, M, K, N, a, 1 if fused_dot else 0, smooth)
        elif dtype == "q8" and int8_activations:
            self._glue.matmulQ8Dynamic(x, w, scales, bias, residual, out, M, K, N, a)
        elif dtype == "q8":
            self._glue.matmulQ8(x, w, scales, bias, residual, out, M, K, N, a)
        else:
            self._glue.matmulQ4(x, w, scales, bias, residual, out, M, K, N, a)

    # --- normalisation, softmax, attention ---
    def layer_norm(self, x: int, gamma: int, beta: int, out: int, M: int, N: int, eps: float = 1e-12) -> None:
        """out[M, N] = (x - mean) / sqrt(var + eps) * gamma + beta over the last axis (beta may be 0)."""
        self._glue.layerNorm(x, gamma, beta, out, M, N, eps)

    def rms_norm(self, x: int, gamma: int, out: int, M: int, N: int, eps: float = 1e-6) -> None:
        """out[M, N] = x / sqrt(mean(x^2) + eps) * gamma."""
        self._glue.rmsNorm(x, gamma, out, M, N, eps)

    def softmax(self, x: int, out: int, M: int, N: int, *, mask: int = 0, mask_period: int = 1,
                scale: float = 1.0) -> None:
        """out[M, N] = softmax(x * scale + mask[m // mask_period]) over the last axis; mask additive f32
        [M // mask_period, N]. A row that is all -inf gives zeros."""
        self._glue.softmax(x, mask, out, M, N, mask_period, scale)

    def attention(self, q: int, k: int, v: int, out: int, B: int, Tq: int, Tk: int, H: int, D: int, *,
                  Hkv: int | None = None, key_mask: int = 0, causal: bool = False, scale: float | None = None,
                  q_strides: tuple | None = None, k_strides: tuple | None = None, v_strides: tuple | None = None) -> None:
        """out [B, Tq, H, D] = staticml.ops.attention.reference(q, k, v, key_mask, causal, scale):
        q [B, Tq, H, D], k/v [B, Tk, Hkv, D] (GQA: query head h uses k/v head h // (H / Hkv)),
        key_mask f32 [B, Tk] (1 attend, 0 pad), causal: query i sees keys j <= i + Tk - Tq.
        *_strides = (batch, token, head) in floats; default contiguous. A fused QKV output [B, T, 3, H, D]
        is q = k - 4*H*D = v - 8*H*D with strides (3*T*H*D, 3*H*D, D) for all three."""
        Hkv = Hkv or H
        if H % Hkv:
            raise ValueError(f"H={H} query heads cannot share {Hkv} k/v heads evenly")
        qs = q_strides or (Tq * H * D, H * D, D)
        ks = k_strides or (Tk * Hkv * D, Hkv * D, D)
        vs = v_strides or (Tk * Hkv * D, Hkv * D, D)
        self._glue.attention(q, k, v, out, key_mask, B, Tq, Tk, H, Hkv, D, 1 if causal else 0,
                             D ** -0.5 if scale is None else scale, *qs, *ks, *vs)

    # --- elementwise ---
    def activation(self, x: int, out: int, n: int, act: str) -> None:
        self._glue.activation(x, out, n, _act(act))

    def add(self, a: int, b: int, out: int, n: int) -> None:
        self._glue.add(a, b, out, n)

    def mul(self, a: int, b: int, out: int, n: int) -> None:
        self._glue.mul(a, b, out, n)

    def copy(self, src: int, dst: int, shape, src_strides, dst_strides=None) -> None:
        """dst = src element by element (4-byte elements, rank <= 4), each side with its own strides in
        elements (dst default contiguous): ops.copy's contiguous() of a view, and concat's parts."""
        shape = list(shape)
        if not 1 <= len(shape) <= 4 or len(src_strides) != len(shape):
            raise ValueError(f"copy takes rank 1..4 with one stride per dim, got shape {shape}, strides {list(src_strides)}")
        if dst_strides is None:
            dst_strides, run = [], 1
            for n in reversed(shape):
                dst_strides.insert(0, run)
                run *= n
        pad = 4 - len(shape)
        self._glue.copy(src, dst, *([1] * pad + shape), *([0] * pad + list(src_strides)),
                        *([0] * pad + list(dst_strides)))

    def matmul_batched(self, a: int, b: int, out: int, batch: int, M: int, K: int, N: int, *,
                       transpose_b: bool = False, a_batch_stride: int | None = None,
                       b_batch_stride: int | None = None) -> None:
        """out[batch, M, N] = a[batch, M, K] @ b[batch, K, N] (or b[batch, N, K]^T), ops.matmul.batched_reference.
        Batch strides in floats (0 broadcasts one matrix to every batch); rows contiguous."""
        self._glue.matmulBatched(a, b, out, batch, M, K, N, 1 if transpose_b else 0,
                                 M * K if a_batch_stride is None else a_batch_stride,
                                 K * N if b_batch_stride is None else b_batch_stride)

    def rotary(self, x: int, out: int, B: int, T: int, H: int, D: int, *, theta: float = 10000.0,
               pos_offset: int = 0, rotary_dim: int | None = None, x_strides: tuple | None = None) -> None:
        """out [B, T, H, D] = ops.rotary.reference(x, theta, pos_offset, rotary_dim); x strided (batch, token,
        head) in floats, default contiguous. The cos/sin tables are computed here in float64."""
        import math
        from array import array

        R = D if rotary_dim is None else rotary_dim
        if R < 2 or R > D or R % 2:
            raise ValueError(f"rotary_dim must be even and in [2, D={D}], got {R}")
        half = R // 2
        inv = [theta ** (-2 * i / R) for i in range(half)]
        angles = [(pos_offset + t) * f for t in range(T) for f in inv]
        mark = self.mark()
        try:
            cos = self.upload(array("f", map(math.cos, angles)))
            sin = self.upload(array("f", map(math.sin, angles)))
            xs = x_strides or (T * H * D, H * D, D)
            self._glue.rotary(x, out, cos, sin, B, T, H, D, R, *xs)
        finally:
            self.reset(mark)

    # --- gathers and reductions ---
    def embedding(self, ids: int, out: int, B: int, S: int, C: int, V: int, word: int, *, pos: int = 0,
                  token_type: int = 0, type_ids: int = 0, dtype: str = "f32", scales: int = 0,
                  pos_offset: int = 0) -> None:
        """out[B, S, C] = word[ids] + pos[pos_offset + s] + token_type[type_ids]; ids/type_ids int32 [B, S]
        (type_ids 0 = all type 0). word rows f32, f16 (rows padded to even) or q8 (padded to 4, scale per row)."""
        if dtype not in EMBED_DTYPES:
            raise ValueError(f"unknown embedding dtype {dtype!r}: use one of {', '.join(EMBED_DTYPES)}")
        self._glue.embedding(ids, type_ids, word, pos, token_type, out, B, S, C, V, EMBED_DTYPES[dtype], scales,
                             pos_offset)

    def mean_pool(self, x: int, mask: int, out: int, B: int, S: int, C: int) -> None:
        """out[B, C] = sum_s mask[b, s] x[b, s] / max(sum_s mask[b, s], 1e-9); mask f32 [B, S] (0 = all ones)."""
        self._glue.meanPool(x, mask, out, B, S, C)

    def l2_normalize(self, x: int, out: int, M: int, N: int, eps: float = 1e-12) -> None:
        """out[M, N] = x / max(||x||_2, eps) per row (torch.nn.functional.normalize)."""
        self._glue.l2Normalize(x, out, M, N, eps)

    def argmax(self, x: int, out: int, M: int, N: int) -> None:
        """out int32 [M] = the first index of each row's maximum."""
        self._glue.argmax(x, out, M, N)
