"""The CPU backend: runs a Plan on the WebAssembly SIMD kernels (shaders/cpu/*.c) instead of the GPU.

Same API as `webgpu_backend.WebGPUBackend` and `numpy_backend.NumpyBackend` (constant / packed_weight /
adopt / write / compile / run), so model code cannot tell which backend runs it:

    kernels = await CpuKernels.load(wasm_urls, threads=0)       # staticml.cpu.kernels
    be = CpuBackend(kernels)
    prog = await be.compile(plan)                                # the kernel calls, recorded once
    outs = await prog.run({"x": x_bytes})                        # {"y": bytes}

Tensors live in the kernels' wasm memory and are named by int pointers. Weights and constants are
blocks (staticml.cpu.blocks): allocated once, reused after `free_block` (a model reloaded takes its old
copy's memory), all given back to the browser by `close()`; a program's inputs and intermediates share one
scratch block laid out at compile time by liveness, allocated at the start of each run and freed at its
end, so plans for many shape buckets cost no memory while idle. A run is one FFI call into
site/cpu_plan.js, which calls every kernel in order (mirroring the GPU's plan replay), plus one write
per input and one read per output.

f32 and q8 matmul weights use the CPU's panel layouts (staticml.cpu.layout: f32 panels, q8p); they arrive in
the GPU's layout (what the converter ships) and are packed in place once, when they become a Weight.
"""
import json

from .. import quant
from ..cpu import layout
from ..cpu.blocks import Blocks
from ..cpu.kernels import ACT, EMBED_DTYPES
from . import debug, profile
from .backend import Backend
from .plan import Plan
from .tensor import ITEMSIZE, Storage, Tensor, Weight

ALIGN = 64    # every scratch slot starts on a cache line; SIMD kernels may read up to 15 bytes past a row
SLACK = 64    # ...so each slot is followed by this many readable bytes
MATMUL_FN = {"f32": "sm_matmul_f32", "f16": "sm_matmul_f16", "q8": "sm_matmul_q8", "q8p": "sm_matmul_q8p",
             "q4": "sm_matmul_q4"}   # by the weight's CPU layout (CpuBackend.layout_of)
BINARY_OP = {"add": 0, "mul": 1}


def _bytes(data) -> bytes:
    if hasattr(data, "tobytes"):
        return data.tobytes()
    return bytes(memoryview(data).cast("B"))


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _plan_glue():
    from ..env import IN_PYODIDE

    if not IN_PYODIDE:
        raise RuntimeError("the CPU backend runs inside Pyodide in a browser; natively use the numpy backend")
    import staticml_cpu_plan  # registered by site/worker.js (site/cpu_plan.js)

    return staticml_cpu_plan


class CpuBackend(Backend):
    name = "wasm"
    exact_shapes = True   # compiling a plan is only recording calls: pipelines run exact (B, T), unpadded

    def __init__(self, kernels):
        self.kernels = kernels             # staticml.cpu.kernels.CpuKernels
        self.blocks = Blocks(kernels)
        self._block_bytes: dict[int, int] = {}   # pointer -> bytes asked for there (alloc_block)
        self._tables: set[int] = set()           # pointers handed out as f32 constants
        self._packed: dict[int, int] = {}        # shipped-layout weight pointer -> its CPU-layout pointer
        self._layout: dict[int, str] = {}        # CPU-layout pointer -> its layout (f32 panels, q8p)

    def alloc_block(self, nbytes: int) -> int:
        """Memory for weights and constants, until free_block (or close): 64-byte aligned."""
        ptr = self.blocks.alloc(max(4, nbytes))
        self._block_bytes[ptr] = max(4, nbytes)
        return ptr

    def free_block(self, ptr: int) -> None:
        """Give back a block from alloc_block (and the panels packed from it into a block of their own);
        tensors over it must not be used again."""
        packed = self._packed.pop(ptr, None)
        if packed is not None and packed != ptr:
            self._layout.pop(packed, None)
            self._block_bytes.pop(packed, None)
            self.blocks.release(packed)
        self._layout.pop(ptr, None)
        self._tables.discard(ptr)
        self._block_bytes.pop(ptr, None)
        self.blocks.release(ptr)

    def close(self) -> None:
        """Unload the kernels: their wasm memory (every weight in it) and pool threads go back to the
        browser, and every CpuProgram of this backend is released. Nothing of this backend works afterwards
        (the calibration's loser is closed this way, staticml.backend_choice)."""
        _plan_glue().releaseAll()
        self.kernels.unload()
        self.blocks = Blocks(self.kernels)
        for table in (self._block_bytes, self._tables, self._packed, self._layout):
            table.clear()

    @classmethod
    async def load(cls, wasm_urls: dict, variant: str = "auto", threads: int = 0) -> "CpuBackend":
        from ..cpu.kernels import CpuKernels

        return cls(await CpuKernels.load(wasm_urls, variant, threads))

    def describe(self) -> dict:
        info = self.kernels.info
        return {"backend": self.name, "adapter": None, "software_adapter": None,
                "linear_variant": f"wasm-{info.get('variant')}", "threads": info.get("threads"),
                "f16_weights": "expanded to f32 per panel", "cpu": info}

    # ---- weights and constants ----
    def constant(self, name: str, shape, dtype: str = "f32", data=None) -> Tensor:
        t = self.adopt(name, shape, dtype, self.alloc_block(_numel(shape) * ITEMSIZE[dtype]))
        if data is not None:
            self.write(t, data)
        return t

    def adopt(self, name: str, shape, dtype: str, ptr: int) -> Tensor:
        """A tensor over wasm memory someone else filled (the model loader, staticml.weights.load)."""
        if dtype == "f32":
            if self._packed.get(ptr) == ptr:
                raise ValueError(f"{name} was already packed in place as a matmul weight and cannot also be read "
                                 "as a table; tied weights need the table adopted first")
            self._tables.add(ptr)
        return Tensor(Storage(_numel(shape) * ITEMSIZE[dtype], "weight", name, ptr, self), shape, dtype)

    def write(self, t: Tensor, data) -> None:
        raw = _bytes(data)
        if len(raw) != t.storage.nbytes:
            raise ValueError(f"{t.storage.name!r} holds {t.storage.nbytes} bytes, got {len(raw)}")
        self.kernels.write(t.storage.handle, raw)

    def packed_weight(self, name: str, dtype: str, N: int, K: int, words=None, scales=None) -> Weight:
        target = layout.CPU_LAYOUT[dtype]
        if target == dtype and dtype != "f32":
            return super().packed_weight(name, dtype, N, K, words, scales)
        if words is None:
            raise ValueError(f"{name}: the CPU backend repacks {dtype} matmul weights when they are made; pass words")
        # room for the CPU layout (it pads N to 8 columns, q8p also K to 8), filled as shipped, packed by finish_weight
        shipped = 4 * N * quant.row_words(dtype, K)
        ptr = self.alloc_block(max(shipped, layout.weight_nbytes(target, N, K)))
        words_t = Tensor(Storage(shipped, "weight", f"{name}.words", ptr, self), (N, quant.row_words(dtype, K)), "u32")
        self.write(words_t, words)
        scales_t = self.constant(f"{name}.scales", (N,), "f32", scales) if dtype == "q8" else None
        return self.finish_weight(Weight(dtype, N, K, words_t, scales_t))

    def finish_weight(self, w: Weight) -> Weight:
        """A matmul weight in the GPU's layout (what the converter ships) -> the same Weight over the CPU's
        layout for it (layout.CPU_LAYOUT: f32 -> f32 panels, q8 -> q8p panels; f16/q4 as they are), made
        once per pointer. In place when the block has room (the CPU model loader allots it), else (or when
        the words are also read as a table, e.g. tied embeddings) into a new block. Scales are unchanged."""
        target = layout.CPU_LAYOUT[w.dtype]
        if target == w.dtype and w.dtype != "f32":
            return w
        k, N, K = self.kernels, w.N, w.K
        pack = {"f32": k.pack_f32, "q8p": k.pack_q8}[target]
        packed_bytes = layout.weight_nbytes(target, N, K)
        src = w.words.storage.handle + 4 * w.words.offset
        if src not in self._packed:
            in_place = (not w.words.offset and src not in self._tables
                        and self._block_bytes.get(src, 0) >= packed_bytes)
            if in_place:
                mark = k.mark()
                try:   # the packer reads rows while writing panels: give it a copy of the rows
                    tmp = k.alloc(w.words.storage.nbytes)
                    k.copy(src, tmp, [w.words.storage.nbytes // 4], [1])
                    pack(tmp, src, N, K)
                finally:
                    k.reset(mark)
                self._packed[src] = src
            else:
                self._packed[src] = self.alloc_block(packed_bytes)
                pack(src, self._packed[src], N, K)
            self._layout[self._packed[src]] = target
        panels = Tensor(Storage(packed_bytes, "weight", w.words.storage.name, self._packed[src], self),
                        (-(-packed_bytes // 4),), "u32")
        return Weight(w.dtype, N, K, panels, w.scales)

    def layout_of(self, w: Weight) -> str:
        """The CPU layout a Weight's words are in (what the matmul kernel must read)."""
        return self._layout.get(w.words.storage.handle, w.dtype)

    # ---- plans ----
    async def compile(self, plan: Plan, debug_mode: bool = None) -> "CpuProgram":
        return CpuProgram(self, plan, debug.enabled() if debug_mode is None else debug_mode)


class CpuProgram:
    """A plan as a list of kernel calls over one scratch block (inputs and intermediates)."""

    def __init__(self, backend: CpuBackend, plan: Plan, debug_mode: bool = False):
        self.backend, self.plan, self.debug = backend, plan, debug_mode
        self.slots: dict = {}       # Storage -> byte offset in the scratch block
        self.scratch_bytes = 0
        self._layout()
        self.calls = []             # [export name, [args], [indexes of args that are scratch offsets], node index]
        for node in plan.nodes:
            if node.out.numel:
                encode(self, node)
        self._glue = _plan_glue()
        self._id = self._glue.preparePlan(json.dumps([c[:3] for c in self.calls]))

    # -- memory --
    def _layout(self) -> None:
        """Offsets by liveness: an intermediate's slot is reused once its last reader has run."""
        free: dict[int, list[int]] = {}   # slot size -> offsets no longer needed

        def size(st: Storage) -> int:
            return -(-max(st.nbytes, 4) // ALIGN) * ALIGN + SLACK

        def place(st: Storage) -> None:
            if free.get(size(st)):
                self.slots[st] = free[size(st)].pop()
            else:
                self.slots[st] = self.scratch_bytes
                self.scratch_bytes += size(st)

        for t in self.plan.inputs.values():
            place(t.storage)
        for node, released in zip(self.plan.nodes, self.plan.released_after()):
            place(node.out.storage)
            for s in released:
                free.setdefault(size(s), []).append(self.slots[s])

    def ptr(self, t) -> tuple:
        """(value, is a scratch offset) of a tensor's first element; None -> (0, False) (absent)."""
        if t is None:
            return 0, False
        if t.storage.kind == "weight":
            return t.storage.handle + 4 * t.offset, False
        return self.slots[t.storage] + 4 * t.offset, True

    def call(self, fn: str, node, *args) -> None:
        """Record one kernel call; an arg that is a Tensor (or None) becomes its pointer."""
        values, rel = [], []
        for i, a in enumerate(args):
            if a is None or isinstance(a, Tensor):
                v, is_rel = self.ptr(a)
                if is_rel:
                    rel.append(i)
                values.append(v)
            else:
                values.append(a)
        self.calls.append([fn, values, rel, node.index])

    # -- running --
    def _run(self, inputs: dict, body):
        missing = set(self.plan.inputs) - set(inputs)
        if missing:
            raise ValueError(f"plan {self.plan.name!r} needs inputs {sorted(missing)}")
        k = self.backend.kernels
        mark = k.mark()
        try:
            base = k.alloc(self.scratch_bytes)
            for name, t in self.plan.inputs.items():
                raw = _bytes(inputs[name])
                if len(raw) != t.storage.nbytes:
                    raise ValueError(f"input {name!r} must be {t.numel} {t.dtype} values ({t.storage.nbytes} bytes), "
                                     f"got {len(raw)} bytes")
                k.write(base + self.slots[t.storage], raw)
            extra = body(base)
            outs = {name: k.read(base + self.ptr(t)[0], t.numel * ITEMSIZE[t.dtype])
                    for name, t in self.plan.outputs.items()}
        finally:
            k.reset(mark)
        return outs, extra

    def run_sync(self, inputs: dict) -> dict:
        """Write inputs, run every kernel call in one FFI call, read the outputs: {name: bytes}."""
        if self.debug:
            return self.run_debug(inputs)["outputs"]
        return self._run(inputs, lambda base: self._glue.runPlan(self._id, base))[0]

    async def run(self, inputs: dict) -> dict:
        return self.run_sync(inputs)

    def run_debug(self, inputs: dict) -> dict:
        """Call by call; each op's output is read and checked (debug.check_node). Returns the trace."""
        k = self.backend.kernels

        def body(base):
            trace, start = [], 0
            ends = {}
            for i, c in enumerate(self.calls):
                ends[c[3]] = i + 1
            for node in self.plan.nodes:
                if node.index not in ends:
                    continue
                self._glue.runRange(self._id, base, start, ends[node.index])
                start = ends[node.index]
                out = k.read(base + self.ptr(node.out)[0], node.out.numel * ITEMSIZE[node.out.dtype])
                trace.append({"index": node.index, "op": node.op,
                              "keys": sorted({c[0] for c in self.calls if c[3] == node.index}), "out": out})
                debug.check_node(node, out)
            return trace

        outs, trace = self._run(inputs, body)
        return {"outputs": outs, "trace": trace}

    def dispatch_infos(self) -> list:
        """profile.describe() of each kernel call: op, family (the op), key (the export), M/K/N for matmuls."""
        return [profile.describe(self.plan.nodes[c[3]], _Call(c[0]), self.plan.nodes[c[3]].op) for c in self.calls]

    def call_times_ns(self, inputs: dict, runs: int = 3) -> list:
        """Each kernel call's median time over `runs` replays, timed one by one (cpu_plan.profilePlan)."""
        samples = [self._run(inputs, lambda base: [1e6 * v for v in self._glue.profilePlan(self._id, base).to_py()])[1]
                   for _ in range(max(1, runs))]
        return profile.per_dispatch_median(samples)

    async def profile(self, inputs: dict, runs: int = 3) -> dict:
        """Time per op / kernel / matmul shape (profile.aggregate, as GPUProgram.profile())."""
        return {**profile.aggregate(self.dispatch_infos(), self.call_times_ns(inputs, runs)), "runs": max(1, runs)}

    def release(self) -> None:
        if self._id is not None and not self.backend.kernels.closed:   # close() released every plan
            self._glue.releasePlan(self._id)
        self._id = None


class _Call:
    """A kernel call as profile.describe() reads a dispatch: its key (the wasm export), no workgroups, and no
    entry point (one call per op: never a second pass)."""

    def __init__(self, key: str):
        self.key, self.groups, self.entry = key, (), None


def _rows(t: Tensor) -> int:
    return t.numel // t.shape[-1] if t.shape and t.shape[-1] else 0


def _copy_args(shape, src_strides, dst_strides) -> list:
    """sm_copy's 12 shape/stride ints (in elements): shape padded on the left to 4 dims with 1, strides with 0."""
    pad = 4 - len(shape)
    return [*([1] * pad), *shape, *([0] * pad), *src_strides, *([0] * pad), *dst_strides]


def _contiguous_strides(shape) -> list:
    out, acc = [], 1
    for d in reversed(shape):
        out.insert(0, acc)
        acc *= d
    return out


def encode(p: CpuProgram, node) -> None:
    """The kernel call(s) of one plan node (the op contract is ops/README.md; shaders/README.md the C ABI)."""
    i, q, op, out = node.inputs, node.params, node.op, node.out
    if op == "linear":
        x, w = i["x"], i["w"]
        p.call(MATMUL_FN[p.backend.layout_of(w)], node, x, w.words, *([w.scales] if w.dtype in ("q8", "q4") else []),
               i["bias"], i["residual"], out, _rows(x), w.K, w.N, ACT[q["act"]])
    elif op == "matmul":
        a, b = i["a"], i["b"]
        batch = a.shape[0] if a.ndim == 3 else 1
        M, K = a.shape[-2], a.shape[-1]
        N = b.shape[-2] if q["transpose_b"] else b.shape[-1]
        p.call("sm_matmul_batched", node, a, b, out, batch, M, K, N, int(q["transpose_b"]), M * K, K * N)
    elif op in BINARY_OP:
        a, b = i["a"], i["b"]
        if b.numel != a.numel:   # b broadcast over a's leading dimensions: repeat it into the output first
            lead = a.numel // b.numel
            p.call("sm_copy", node, b, out, *_copy_args([lead, b.numel], [0, 1], [b.numel, 1]))
            p.call("sm_binary", node, a, out, out, a.numel, BINARY_OP[op])
        else:
            p.call("sm_binary", node, a, b, out, a.numel, BINARY_OP[op])
    elif op == "layer_norm":
        x = i["x"]
        p.call("sm_layer_norm", node, x, i["gamma"], i["beta"], out, _rows(x), x.shape[-1], q["eps"])
    elif op == "rms_norm":
        x = i["x"]
        p.call("sm_rms_norm", node, x, i["gamma"], out, _rows(x), x.shape[-1], q["eps"])
    elif op == "l2_normalize":
        x = i["x"]
        p.call("sm_l2_normalize", node, x, out, _rows(x), x.shape[-1], q["eps"])
    elif op == "softmax":
        x, mask = i["x"], i["mask"]
        rows = _rows(x)
        period = rows // mask.shape[0] if mask is not None else 1
        p.call("sm_softmax", node, x, mask, out, rows, x.shape[-1], period, q["scale"])
    elif op == "embedding":
        ids, table = i["ids"], i["table"]
        B, T = ids.shape
        p.call("sm_embedding", node, ids, i["type_ids"], table, i["pos_table"], i["type_table"], out, B, T,
               table.shape[1], table.shape[0], EMBED_DTYPES["f32"], 0, q["pos_offset"])
    elif op == "attention":
        qq, k, v = i["q"], i["k"], i["v"]
        B, Tq, H, D = qq.shape
        p.call("sm_attention", node, qq, k, v, out, i["key_mask"], B, Tq, k.shape[1], H, k.shape[2], D,
               int(q["causal"]), q["scale"], *qq.strides[:3], *k.strides[:3], *v.strides[:3])
    elif op == "rotary":
        _encode_rotary(p, node)
    elif op == "mean_pool":
        x = i["x"]
        p.call("sm_mean_pool", node, x, i["mask"], out, *x.shape)
    elif op == "argmax":
        x = i["x"]
        p.call("sm_argmax", node, x, out, _rows(x), x.shape[-1])
    elif op == "copy":
        x = i["x"]
        p.call("sm_copy", node, x, out, *_copy_args(x.shape, x.strides, _contiguous_strides(x.shape)))
    elif op == "concat":
        axis, strides = q["axis"], _contiguous_strides(out.shape)
        start = 0
        for part in i["xs"]:
            dst = out._view(part.shape, strides, start * strides[axis])
            p.call("sm_copy", node, part, dst, *_copy_args(part.shape, part.strides, strides))
            start += part.shape[axis]
    else:
        raise NotImplementedError(f"the CPU backend has no op {op!r}")


def _encode_rotary(p: CpuProgram, node) -> None:
    """cos/sin tables [T, R/2] are computed once here (float64, as the reference) and kept as constants."""
    import math
    from array import array

    x, q = node.inputs["x"], node.params
    B, T, H, D = x.shape
    R = q["rotary_dim"]
    inv = [q["theta"] ** (-2 * j / R) for j in range(R // 2)]
    angles = [(q["pos_offset"] + t) * f for t in range(T) for f in inv]
    be = p.backend
    cos = be.constant(f"rotary#{node.index}.cos", (T, R // 2), "f32", array("f", map(math.cos, angles)))
    sin = be.constant(f"rotary#{node.index}.sin", (T, R // 2), "f32", array("f", map(math.sin, angles)))
    p.call("sm_rotary", node, x, node.out, cos, sin, B, T, H, D, R, *x.strides[:3])
