"""A converted model's tensors in GPU buffers or in the CPU kernels' wasm memory
(model_cache/README.md describes the manifest).

Python reads the manifest and decides the layout: one GPU buffer (or one wasm memory block) per tensor.
The JS model loader (site/model_loader.js, `staticml_models`) moves the bytes from the shard it fetched
or kept in IndexedDB straight into them (queue.writeBuffer, or a copy into the wasm memory), so weights
never enter the Python heap; only the JSON plan below crosses the FFI.
"""
import json

from .env import IN_PYODIDE
from .gpu import usage

if IN_PYODIDE:  # registered by site/worker.js
    import staticml_models as loader

FORMAT_VERSION = 1   # the manifest format model_cache/convert.py writes (that package is native-only)
WEIGHT_USAGE = usage.STORAGE | usage.COPY_DST | usage.COPY_SRC   # COPY_SRC: verify() reads them back


def upload_plan(manifest: dict, buffer_ids: dict[str, int]) -> list[list[int]]:
    """[[shard, byte offset in shard, buffer id, byte offset in buffer, nbytes], ...] covering every
    byte of every tensor once; a tensor split over shards continues where its previous span ended."""
    copies = []
    for t in manifest["tensors"]:
        dst = 0
        for span in t["spans"]:   # spans of one tensor are consecutive pieces of its bytes
            copies.append([span["shard"], span["byte_offset"], buffer_ids[t["name"]], dst, span["nbytes"]])
            dst += span["nbytes"]
    return copies


def check_manifest(manifest: dict, model_id: str) -> None:
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"model {model_id}: manifest format_version {manifest.get('format_version')!r}, this staticml "
                         f"reads {FORMAT_VERSION}; rebuild the site with this staticml's build.py convert")


def table_entry(t: dict, buffer_id: int) -> dict:
    entry = {"buffer": buffer_id, "offset": 0, "nbytes": t["nbytes"], "dtype": t["dtype"], "shape": t["shape"]}
    if "quant" in t:
        entry["quant"] = t["quant"]
    return entry


class LoadedModel:
    """The tensors of one model in the memory it was loaded into (memory_of(backend): the GPU device, or the
    CPU kernels' wasm memory); owns its buffers (release() frees them)."""

    def __init__(self, model_id: str, manifest: dict, tensors: dict[str, dict], transfer: dict, memory):
        self.id, self.manifest, self.tensors, self.transfer = model_id, manifest, tensors, transfer
        self.memory = memory

    def table(self) -> dict:
        return {"model": self.id, "tensors": self.tensors, "transfer": self.transfer}

    async def checksums(self) -> dict[str, str]:
        """sha256 of each tensor's bytes read back from where they were loaded (diagnostics and tests)."""
        import hashlib

        if self.memory.closed:
            raise RuntimeError(f"model {self.id} was loaded on a backend that has been closed (it lost the "
                               "calibration); load it again")
        return {name: hashlib.sha256(await self.memory.read(t["buffer"], t["nbytes"], t["offset"])).hexdigest()
                for name, t in self.tensors.items()}

    def release(self) -> None:
        if not self.memory.closed:   # a closed backend's memory has gone back to the browser already
            for t in self.tensors.values():
                self.memory.release(t["buffer"])
        self.tensors = {}


class _CpuMemory:
    """The CPU backend's side of `load`: blocks of wasm memory instead of GPU buffers."""

    target = "wasm"

    def __init__(self, backend):
        self.backend = backend

    @property
    def closed(self) -> bool:   # as WebGPUDevice.closed: the backend was closed, its memory is gone
        return self.backend.kernels.closed

    def buffer(self, nbytes: int, usage_bits: int = 0, shape=None, dtype: str = "") -> int:
        from .cpu import layout

        if dtype in ("f32", "q8") and shape and len(shape) == 2:   # a matmul weight may be repacked in place
            nbytes = max(nbytes, layout.weight_nbytes(layout.CPU_LAYOUT[dtype], *shape))
        return self.backend.alloc_block(nbytes)

    def release(self, ptr: int) -> None:
        self.backend.free_block(ptr)   # on the free list: a reloaded model takes the same memory again

    async def read(self, ptr: int, nbytes: int, offset: int = 0) -> bytes:
        return self.backend.kernels.read(ptr + offset, nbytes)


def memory_of(backend):
    """What `load` allocates in: the GPU device, or the CPU backend's wasm memory."""
    return _CpuMemory(backend) if backend.name == "wasm" else backend.device


async def load(device, model_id: str) -> LoadedModel:
    manifest = json.loads(await loader.manifestText(model_id))
    check_manifest(manifest, model_id)
    ids: dict[str, int] = {}
    try:
        for t in manifest["tensors"]:
            if isinstance(device, _CpuMemory):
                ids[t["name"]] = device.buffer(t["nbytes"], shape=t["shape"], dtype=t["dtype"])
            else:
                ids[t["name"]] = device.buffer(t["nbytes"], WEIGHT_USAGE)
        transfer = json.loads(await loader.uploadShards(model_id, json.dumps(upload_plan(manifest, ids)),
                                                        getattr(device, "target", "gpu")))
    except BaseException:
        for buffer_id in ids.values():
            device.release(buffer_id)
        raise
    tensors = {t["name"]: table_entry(t, ids[t["name"]]) for t in manifest["tensors"]}
    return LoadedModel(model_id, manifest, tensors, transfer, device)
