"""A converted model's tensors in GPU buffers or in the CPU kernels' wasm memory
(model_cache/README.md describes the manifest).

Python reads the manifest and decides the layout: one GPU buffer (or one wasm memory block) per tensor,
except for sibling Linear layers that read the same input (`SIBLING_LINEARS`, e.g. BERT's query / key /
value): their weights share one buffer, back to back, and so do their biases and their quantization scales,
so a model can run them as one matmul over the rows of all three (`fused_groups`). The JS model loader
(site/model_loader.js, `staticml_models`) moves the bytes from the shard it fetched or kept in IndexedDB
straight into them (queue.writeBuffer, or a copy into the wasm memory), so weights
never enter the Python heap; only the JSON plan below crosses the FFI.
"""
import json

from .env import IN_PYODIDE
from .gpu import usage

if IN_PYODIDE:  # registered by site/worker.js
    import staticml_models as loader

FORMAT_VERSION = 1   # the manifest format model_cache/convert.py writes (that package is native-only)
WEIGHT_USAGE = usage.STORAGE | usage.COPY_DST | usage.COPY_SRC   # COPY_SRC: verify() reads them back


# Linear layers that read the same input, by the last part of the checkpoint's names: loaded side by side,
# a [N1 + N2 + N3, K] weight in one buffer, they run as one matmul (3 launches -> 1 per layer; on a GPU the
# bigger N also fills more of it: MiniLM's GPU time per forward fell 5-17 % on an H200, README "Performance").
SIBLING_LINEARS = (("query", "key", "value"),)


def fused_groups(manifest: dict) -> list[list[str]]:
    """Tensors to place back to back in one buffer, in order: per sibling set whose weights are all there
    with one dtype, one quantization scheme and one K, the weights, then the f32 biases (all or none of
    the set has one), then (q8 / q4) the scales. A set that does not fit this stays apart, whole (the
    model then runs its layers one by one); every other tensor gets a buffer of its own."""
    tensors = {t["name"]: t for t in manifest["tensors"]}
    groups = []
    for t in manifest["tensors"]:
        for names in SIBLING_LINEARS:
            if not t["name"].endswith(f".{names[0]}.weight"):
                continue
            stem = t["name"][:-len(f"{names[0]}.weight")]
            ws = [tensors.get(f"{stem}{n}.weight") for n in names]
            if any(w is None or len(w["shape"]) != 2 for w in ws):
                continue
            if len({(w["dtype"], w["shape"][1], (w.get("quant") or {}).get("scheme")) for w in ws}) != 1:
                continue
            biases = [tensors.get(f"{stem}{n}.bias") for n in names]
            if any(b is not None for b in biases) and not all(b is not None and b["dtype"] == "f32" for b in biases):
                continue
            scales = [(w.get("quant") or {}).get("scales") for w in ws]
            if ws[0]["dtype"] in ("q8", "q4") and not all(s in tensors for s in scales):
                continue
            groups.append([w["name"] for w in ws])
            if biases[0] is not None:
                groups.append([b["name"] for b in biases])
            if ws[0]["dtype"] in ("q8", "q4"):
                groups.append(scales)
    return groups


def upload_plan(manifest: dict, where: dict[str, tuple[int, int]]) -> list[list[int]]:
    """[[shard, byte offset in shard, buffer id, byte offset in buffer, nbytes], ...] covering every
    byte of every tensor once; `where`: {name: (buffer id, the tensor's byte offset in it)}. A tensor split
    over shards continues where its previous span ended."""
    copies = []
    for t in manifest["tensors"]:
        buffer_id, dst = where[t["name"]]
        for span in t["spans"]:   # spans of one tensor are consecutive pieces of its bytes
            copies.append([span["shard"], span["byte_offset"], buffer_id, dst, span["nbytes"]])
            dst += span["nbytes"]
    return copies


def check_manifest(manifest: dict, model_id: str) -> None:
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"model {model_id}: manifest format_version {manifest.get('format_version')!r}, this staticml "
                         f"reads {FORMAT_VERSION}; rebuild the site with this staticml's build.py convert")


def table_entry(t: dict, buffer_id: int, offset: int = 0) -> dict:
    entry = {"buffer": buffer_id, "offset": offset, "nbytes": t["nbytes"], "dtype": t["dtype"], "shape": t["shape"]}
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
            for buffer_id in {t["buffer"] for t in self.tensors.values()}:   # fused groups share one
                self.memory.release(buffer_id)
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


def buffers_of(manifest: dict) -> list[dict]:
    """The buffers `load` makes, in order: one per fused group (fused_groups), its tensors back to back, and
    one per other tensor. Each: {names, offsets (bytes), nbytes, shape, dtype}; shape is the group's as one
    tensor ([sum N, K] for stacked weights), which the CPU memory sizes matmul layouts by."""
    by_name = {t["name"]: t for t in manifest["tensors"]}
    grouped = fused_groups(manifest)
    in_group = {name for group in grouped for name in group}
    out = []
    for group in grouped + [[t["name"]] for t in manifest["tensors"] if t["name"] not in in_group]:
        ts = [by_name[name] for name in group]
        offsets = [sum(t["nbytes"] for t in ts[:i]) for i in range(len(ts))]
        out.append({"names": group, "offsets": offsets, "nbytes": sum(t["nbytes"] for t in ts),
                    "shape": [sum(t["shape"][0] for t in ts), *ts[0]["shape"][1:]], "dtype": ts[0]["dtype"]})
    return out


async def load(device, model_id: str) -> LoadedModel:
    manifest = json.loads(await loader.manifestText(model_id))
    check_manifest(manifest, model_id)
    where: dict[str, tuple[int, int]] = {}   # name -> (buffer id, byte offset in it)
    made = []
    try:
        for b in buffers_of(manifest):
            if isinstance(device, _CpuMemory):
                made.append(device.buffer(b["nbytes"], shape=b["shape"], dtype=b["dtype"]))
            else:
                made.append(device.buffer(b["nbytes"], WEIGHT_USAGE))
            where.update({name: (made[-1], offset) for name, offset in zip(b["names"], b["offsets"])})
        transfer = json.loads(await loader.uploadShards(model_id, json.dumps(upload_plan(manifest, where)),
                                                        getattr(device, "target", "gpu")))
    except BaseException:
        for buffer_id in made:
            device.release(buffer_id)
        raise
    tensors = {t["name"]: table_entry(t, *where[t["name"]]) for t in manifest["tensors"]}
    return LoadedModel(model_id, manifest, tensors, transfer, device)
