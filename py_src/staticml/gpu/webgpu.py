"""WebGPU device backend for Pyodide: Python decides, the JS glue (`staticml_glue`) executes.

Only ints, strings and typed arrays cross the FFI. Typed arrays are made on the JS side
(`Uint8Array.new(n)` then `.assign(python_buffer)`), so no PyProxy is ever handed to JS.
"""
import json
import os
from array import array

from ..env import IN_PYODIDE
from . import usage

if IN_PYODIDE:  # the one browser-only import of this module
    import js
    import staticml_glue as glue  # registered by site/worker.js


def _u8(data) -> "js.Uint8Array":
    view = memoryview(data).cast("B")
    out = js.Uint8Array.new(view.nbytes)
    out.assign(view)
    return out


def _i32(values) -> "js.Int32Array":
    arr = array("i", values)
    out = js.Int32Array.new(len(arr))
    out.assign(arr)
    return out


F16_MODES = ("auto", "unpack")  # `?f16=`: auto = native f16 where the adapter has shader-f16


def withheld_features(f16: str = "auto") -> str:
    """The optional features not to request (comma-separated, for glue.requestDevice): with f16="unpack"
    the device goes without `shader-f16`, so f16 weights take the unpack2x16float kernels even on an
    adapter that has native f16 (to measure one against the other on the same GPU)."""
    if f16 not in F16_MODES:
        raise ValueError(f"f16={f16!r}: choose one of {', '.join(F16_MODES)}")
    return "shader-f16" if f16 == "unpack" else ""


class WebGPUDevice:
    """One adapter + device. Pipelines are cached by kernel key, created once (async)."""

    backend = "webgpu"

    def __init__(self, info: dict):
        self.info = info
        self._pipelines: dict[str, int] = {}
        self.closed = False

    @classmethod
    async def request(cls, power_preference: str = "high-performance", f16: str | None = None) -> "WebGPUDevice":
        """f16: "auto" (native f16 where the adapter has shader-f16) or "unpack"; None reads STATICML_F16,
        which the worker sets from the page's `?f16=` (worker_entry.boot)."""
        withheld = withheld_features((os.environ.get("STATICML_F16") or "auto") if f16 is None else f16)
        if not IN_PYODIDE:
            raise RuntimeError("the WebGPU backend runs inside Pyodide in a browser; natively use the numpy references")
        return cls(json.loads(await glue.requestDevice(power_preference, withheld)))

    @property
    def is_software(self) -> bool:
        """SwiftShader and other fallback adapters: correct, but a CPU emulation."""
        return bool(self.info.get("isFallbackAdapter")) or self.info.get("architecture") == "swiftshader"

    async def pipeline(self, key: str, wgsl: str, entry_point: str) -> int:
        if key not in self._pipelines:
            self._pipelines[key] = await glue.createPipeline(key, wgsl, entry_point)
        return self._pipelines[key]

    def buffer(self, nbytes: int, usage_bits: int = usage.STORAGE_RW) -> int:
        return glue.createBuffer(nbytes, usage_bits)

    def write(self, buffer_id: int, data, offset: int = 0) -> None:
        glue.writeBuffer(buffer_id, offset, _u8(data))

    def bind_group(self, pipeline_id: int, bindings: list[tuple[int, int, int, int]]) -> int:
        """bindings: (binding, buffer_id, byte_offset, byte_size or 0 for the whole buffer)."""
        return glue.createBindGroup(pipeline_id, _i32([v for b in bindings for v in b]))

    def run(self, dispatches: list[tuple[int, int, int, int, int]]) -> None:
        """One FFI call and one queue.submit for (pipeline, bind_group, x, y, z) records."""
        glue.runPlan(_i32([v for d in dispatches for v in d]))

    async def read(self, buffer_id: int, nbytes: int, offset: int = 0) -> bytes:
        return (await glue.readBuffer(buffer_id, offset, nbytes)).to_bytes()

    async def replay_read(self, prepared_id: int, reads) -> bytes:
        """Replay a prepared plan and read its outputs back in the same submit (glue.replayRead).
        reads: Int32Array of [buffer_id, byte_offset, nbytes] per output; returns their bytes back to
        back, each padded to a multiple of 4."""
        return (await glue.replayRead(prepared_id, reads)).to_bytes()

    def release(self, object_id: int) -> None:
        glue.release(object_id)

    @property
    def has_timestamps(self) -> bool:
        return "timestamp-query" in self.info.get("features", ())

    async def profile(self, prepared_id: int, per_dispatch: bool = True) -> list:
        """GPU nanoseconds of a prepared plan (glue.profilePlan): one per dispatch, or [total] of the
        one-pass encoding when per_dispatch is False. Needs `timestamp-query` (has_timestamps)."""
        ns = array("d")
        ns.frombytes((await glue.profilePlan(prepared_id, 1 if per_dispatch else 0)).to_bytes())
        return ns.tolist()

    def live_objects(self) -> int:
        return glue.liveObjects()

    def close(self) -> None:
        """Destroy the device and every object made on it (glue.closeDevice): its memory goes back now,
        not at the next garbage collection. Nothing made on it works afterwards."""
        glue.closeDevice()
        self._pipelines.clear()
        self.closed = True
