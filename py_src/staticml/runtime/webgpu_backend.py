"""The WebGPU backend: compiles a Plan into pipelines, pooled buffers and bind groups once, then
replays it with ONE FFI call (`glue.replayRead`) and ONE `queue.submit` per run, the copies of its outputs
into a mappable buffer included (then one `mapAsync`).

Same API as `numpy_backend.NumpyBackend` (constant / packed_weight / write / compile / run), so
model code cannot tell which backend runs it. Debug mode (`STATICML_DEBUG=1`, or `debug=True`)
submits after every op, reads each op's output back and checks it (see debug.py).
Profiling (`GPUProgram.profile()`, `gpu_time_ms()`) replays the same prepared record with GPU
timestamps (needs the `timestamp-query` feature); the normal replay never writes timestamps.
"""
import asyncio
import time

from ..gpu import usage
from ..ops import argmax, attention, copy, elementwise, embedding, linear, norm, pooling, rotary, softmax
from ..ops.dispatch import DUMMY, UNUSED, Scratch
from . import debug, profile
from .backend import Backend
from .plan import Plan
from .pool import BufferPool, size_class
from .tensor import ITEMSIZE, Storage, Tensor

UNIFORM_ALIGN = 256  # minUniformBufferOffsetAlignment's default (and SwiftShader's value)

ENCODERS = {
    "linear": linear.encode_linear, "matmul": linear.encode_matmul,
    "add": elementwise.encode, "mul": elementwise.encode,
    "layer_norm": norm.encode, "rms_norm": norm.encode, "l2_normalize": norm.encode,
    "softmax": softmax.encode, "embedding": embedding.encode, "attention": attention.encode,
    "rotary": rotary.encode, "mean_pool": pooling.encode, "argmax": argmax.encode,
    "copy": copy.encode, "concat": copy.encode,
}


def _bytes(data) -> bytes:
    """Host data as bytes: bytes-likes as they are, array.array / numpy through the buffer protocol."""
    if hasattr(data, "tobytes"):
        return data.tobytes()
    return bytes(memoryview(data).cast("B"))


def _record(records) -> int:
    """The replay record ([pipeline, bind group, x, y, z] per dispatch) resolved once by the glue
    into GPU objects; returns its id in the glue's table (released like any GPU object)."""
    from ..gpu import webgpu

    return webgpu.glue.preparePlan(webgpu._i32([v for r in records for v in r]))


def _replay(plan_id: int) -> None:
    _replay_fn()(plan_id)  # the one FFI call: one command encoder, one compute pass, one submit


_glue_replay = []


def _replay_fn():
    """glue.replayPlan, looked up once (each attribute access on a JS module makes a new proxy)."""
    if not _glue_replay:
        from ..gpu import webgpu

        _glue_replay.append(webgpu.glue.replayPlan)
    return _glue_replay[0]


class WebGPUBackend(Backend):
    name = "webgpu"
    round_trip_per_run = True   # each run is a submit and a read back: pipelines pad rather than run twice

    def __init__(self, device):
        self.device = device                     # gpu.webgpu.WebGPUDevice
        self.features = tuple(device.info.get("features", ()))
        # kernel variants follow the adapter (linear.variant); tests flip it to exercise both on one adapter
        self.software = device.is_software
        self.linear_big = None     # None: linear.big_tiles decides per shape; tests force True / False
        self.linear_skinny = None  # None: linear.skinny decides per shape (few rows); tests force True / False
        self.linear_splits = None  # None: linear.k_splits decides per shape; tests force a number of K slices
        self.pool = BufferPool(device)
        self.dummy = device.buffer(16, usage.STORAGE_RW)  # bound where an optional input is absent
        self._weights: list[int] = []
        # what building plans cost: pipelines compiled (once per kernel key) and the time they took
        self.stats = {"pipelines_compiled": 0, "pipeline_compile_ms": 0.0, "programs_built": 0, "program_build_ms": 0.0,
                      "compiles": []}  # [new pipelines, ms] per build that compiled any (concurrently)

    @classmethod
    async def request(cls) -> "WebGPUBackend":
        from ..gpu.webgpu import WebGPUDevice

        return cls(await WebGPUDevice.request())

    def describe(self) -> dict:
        """What runs, for info() and the page: backend, adapter, and the kernel variants chosen."""
        info = self.device.info
        return {"backend": self.name, "adapter": {k: info.get(k, "") for k in ("vendor", "architecture", "description")},
                "software_adapter": self.software, "linear_variant": linear.variant(self.software),
                "f16_weights": "native" if linear.f16_native(self.features) else "unpack2x16float",
                "adapter_has_shader_f16": "shader-f16" in info.get("adapterFeatures", self.features),
                "withheld_features": list(info.get("withheldFeatures", [])),
                "timestamp_query": "timestamp-query" in self.features}

    # ---- weights and constants ----
    def constant(self, name: str, shape, dtype: str = "f32", data=None) -> Tensor:
        n = 1
        for d in shape:
            n *= d
        buf = self.device.buffer(max(4, n * ITEMSIZE[dtype]), usage.STORAGE_RW)
        self._weights.append(buf)
        t = Tensor(Storage(n * ITEMSIZE[dtype], "weight", name, buf, self), shape, dtype)
        if data is not None:
            self.write(t, data)
        return t

    def adopt(self, name: str, shape, dtype: str, buffer_id: int) -> Tensor:
        """A tensor over a GPU buffer someone else filled and owns (the model loader, staticml.weights)."""
        n = 1
        for d in shape:
            n *= d
        return Tensor(Storage(n * ITEMSIZE[dtype], "weight", name, buffer_id, self), shape, dtype)

    def write(self, t: Tensor, data) -> None:
        raw = _bytes(data)
        if len(raw) != t.storage.nbytes:
            raise ValueError(f"{t.storage.name!r} holds {t.storage.nbytes} bytes, got {len(raw)}")
        self.device.write(t.storage.handle, raw)

    def release_weights(self) -> None:
        for buf in self._weights if not self.device.closed else ():
            self.device.release(buf)
        self._weights.clear()

    def close(self) -> None:
        """Destroy the device and everything made on it (weights, pooled buffers, programs), so the memory
        goes back now; nothing of this backend works afterwards (the calibration's loser,
        staticml.backend_choice)."""
        self.device.close()
        self._weights.clear()
        self.pool = BufferPool(self.device)

    # ---- plans ----
    async def compile(self, plan: Plan, debug_mode: bool = None) -> "GPUProgram":
        prog = GPUProgram(self, plan, debug.enabled() if debug_mode is None else debug_mode)
        await prog.build()
        return prog


class GPUProgram:
    """A plan on the GPU: buffers, pipelines, one uniform buffer and bind groups, made once."""

    def __init__(self, backend: WebGPUBackend, plan: Plan, debug_mode: bool):
        self.backend, self.plan, self.debug = backend, plan, debug_mode
        self.dispatches = []      # (node index, Dispatch)
        self.buffers = {}         # Storage -> buffer id (inputs and temps)
        self._owned_buffers = []  # pooled buffers to hand back
        self._objects = []        # bind groups and the uniform buffer to release
        self._ops = None          # id of the glue's prepared replay record
        self._reads = None        # (Int32Array [buffer, offset, nbytes] per output, nbytes list): run()'s read back

    async def build(self) -> None:
        be, dev = self.backend, self.backend.device
        t_build = time.perf_counter()
        for node in self.plan.nodes:
            encode = ENCODERS[node.op]
            extra = {"software": be.software, "big": be.linear_big, "thin": be.linear_skinny} if node.op in ("linear", "matmul") else {}
            if node.op == "linear":
                extra["splits"] = be.linear_splits
            for d in encode(node, be.features, **extra):
                self.dispatches.append((node.index, d))
        self._allocate()
        # every missing pipeline is compiled concurrently, ahead of the first run
        keys = {d.key: d for _, d in self.dispatches}
        cached = getattr(dev, "_pipelines", {})
        new = sum(1 for k in keys if k not in cached)
        t0 = time.perf_counter()
        pipelines = await asyncio.gather(*(dev.pipeline(k, d.source, d.entry) for k, d in keys.items()))
        if new:
            ms = round((time.perf_counter() - t0) * 1e3, 1)
            be.stats["pipelines_compiled"] += new
            be.stats["pipeline_compile_ms"] = round(be.stats["pipeline_compile_ms"] + ms, 1)
            be.stats["compiles"].append([new, ms])
        pipeline_of = dict(zip(keys, pipelines))
        # all uniform blocks in one buffer, each at a 256-byte aligned offset
        offsets, blob = [], bytearray()
        for _, d in self.dispatches:
            offsets.append(len(blob))
            blob += d.uniforms + bytes((-len(d.uniforms)) % UNIFORM_ALIGN)
        ubuf = dev.buffer(max(len(blob), UNIFORM_ALIGN), usage.UNIFORM_W)
        self._objects.append(ubuf)
        dev.write(ubuf, bytes(blob))
        records = []
        for (_, d), off in zip(self.dispatches, offsets):
            bindings = [(0, ubuf, off, len(d.uniforms))]
            bindings += [(i, self._buffer_of(t), 0, 0) for i, t in enumerate(d.buffers, start=1) if t is not UNUSED]
            group = dev.bind_group(pipeline_of[d.key], bindings)
            self._objects.append(group)
            records.append((pipeline_of[d.key], group, *d.groups))
        self.records = records
        self._ops = _record(records)
        self._objects.append(self._ops)
        be.stats["programs_built"] += 1
        be.stats["program_build_ms"] = round(be.stats["program_build_ms"] + (time.perf_counter() - t_build) * 1e3, 1)

    def _buffer_of(self, t) -> int:
        if t is DUMMY:
            return self.backend.dummy
        if isinstance(t, Scratch):
            return self._scratch
        if t.storage.kind == "weight":
            return t.storage.handle
        return self.buffers[t.storage]

    def _allocate(self) -> None:
        """Inputs get their own buffers; temps share pooled buffers once their last reader has run."""
        pool = self.backend.pool
        for t in self.plan.inputs.values():
            self.buffers[t.storage] = self._take(pool, t.storage.nbytes)
        free: dict[int, list[int]] = {}  # size class -> buffers this plan no longer needs
        for node, released in zip(self.plan.nodes, self.plan.released_after()):
            st = node.out.storage
            cls = size_class(st.nbytes)
            self.buffers[st] = free[cls].pop() if free.get(cls) else self._take(pool, st.nbytes)
            for s in released:
                free.setdefault(size_class(s.nbytes), []).append(self.buffers[s])
        # one buffer serves every Scratch binding: dispatches run in order, each scratch is read by the next one
        need = max((b.nbytes for _, d in self.dispatches for b in d.buffers if isinstance(b, Scratch)), default=0)
        self._scratch = self._take(pool, need) if need else None

    def _take(self, pool, nbytes) -> int:
        buf = pool.acquire(nbytes)
        self._owned_buffers.append(buf)
        return buf

    def write_inputs(self, inputs: dict) -> None:
        missing = set(self.plan.inputs) - set(inputs)
        if missing:
            raise ValueError(f"plan {self.plan.name!r} needs inputs {sorted(missing)}")
        for name, t in self.plan.inputs.items():
            raw = _bytes(inputs[name])
            if len(raw) != t.storage.nbytes:
                raise ValueError(f"input {name!r} must be {t.numel} {t.dtype} values ({t.storage.nbytes} bytes), "
                                 f"got {len(raw)} bytes")
            self.backend.device.write(self.buffers[t.storage], raw)

    async def read(self, t: Tensor) -> bytes:
        return await self.backend.device.read(self._buffer_of(t), t.numel * ITEMSIZE[t.dtype],
                                              t.offset * ITEMSIZE[t.dtype])

    async def run(self, inputs: dict) -> dict:
        """Write inputs, replay every dispatch and copy the outputs out in one submit, map them once:
        {name: bytes}."""
        if self.debug:
            return (await self.run_debug(inputs))["outputs"]
        self.write_inputs(inputs)
        if self._reads is None:   # [buffer, byte offset, nbytes] per output, resolved once
            from ..gpu import webgpu

            spec = [(self._buffer_of(t), t.offset * ITEMSIZE[t.dtype], t.numel * ITEMSIZE[t.dtype])
                    for t in self.plan.outputs.values()]
            self._reads = webgpu._i32([v for r in spec for v in r]), [n for *_, n in spec]
        reads, sizes = self._reads
        raw = await self.backend.device.replay_read(self._ops, reads)
        out, at = {}, 0
        for name, n in zip(self.plan.outputs, sizes):
            out[name] = raw[at:at + n]
            at += -(-n // 4) * 4   # each output padded to 4 bytes (copyBufferToBuffer's unit)
        return out

    async def run_debug(self, inputs: dict) -> dict:
        """Submit op by op; read each op's output, check it (debug.check_node), return the trace."""
        self.write_inputs(inputs)
        trace = []
        last = {}
        for k, (node_index, _) in enumerate(self.dispatches):
            last[node_index] = k
        for k, (node_index, d) in enumerate(self.dispatches):
            self.backend.device.run([self.records[k]])
            if last[node_index] == k:
                node = self.plan.nodes[node_index]
                out = await self.read(node.out)
                trace.append({"index": node_index, "op": node.op, "keys": sorted({dd.key for i, dd in self.dispatches
                                                                                if i == node_index}),
                              "out": out})
                debug.check_node(node, out)
        return {"outputs": {name: await self.read(t) for name, t in self.plan.outputs.items()}, "trace": trace}

    # ---- profiling (timestamp queries; the normal run() path never writes timestamps) ----
    def dispatch_infos(self) -> list:
        """One dict per dispatch, in replay order: op, kernel family, key, workgroups (+ M, K, N for matmuls)."""
        return [profile.describe(self.plan.nodes[i], d, ENCODERS[self.plan.nodes[i].op].__module__.rsplit(".", 1)[-1])
                for i, d in self.dispatches]

    def _need_timestamps(self) -> None:
        if not self.backend.device.has_timestamps:
            raise RuntimeError("GPU times need the 'timestamp-query' feature, which this device does not have "
                               "(the adapter lacks it, or it was not requested)")

    async def gpu_time_ms(self, inputs: dict = None) -> float:
        """GPU milliseconds of one replay encoded as run() encodes it (one pass), from two timestamps."""
        self._need_timestamps()
        if inputs is not None:
            self.write_inputs(inputs)
        (ns,) = await self.backend.device.profile(self._ops, per_dispatch=False)
        return ns / 1e6

    async def profile(self, inputs: dict = None, runs: int = 3) -> dict:
        """GPU time per kernel family, kernel key and matmul shape: `runs` replays with one pass and two
        timestamps per dispatch, per-dispatch medians, summed (profile.aggregate)."""
        self._need_timestamps()
        if inputs is not None:
            self.write_inputs(inputs)
        samples = [await self.backend.device.profile(self._ops, per_dispatch=True) for _ in range(max(1, runs))]
        out = profile.aggregate(self.dispatch_infos(), profile.per_dispatch_median(samples))
        out["runs"] = len(samples)
        return out

    def release(self) -> None:
        """Give buffers back to the pool; destroy bind groups, the uniform buffer and the replay record."""
        dev = self.backend.device
        if not dev.closed:   # else close() destroyed them all
            for obj in self._objects:
                dev.release(obj)
            for buf in self._owned_buffers:
                self.backend.pool.release(buf)
        self._objects.clear()
        self._owned_buffers.clear()
        self._ops = None
