"""The numpy backend: runs a Plan natively by calling each op's `reference()` (no GPU, no browser).

Same API as the WebGPU backend, so model code runs unchanged on both and the two check each other:

    be = NumpyBackend()
    w = be.weight("fc1", w_float_NK, "q8")          # or be.packed_weight(...) with converter output
    plan = Plan("block"); x = plan.input("x", (B, T, C)); plan.output("y", ops.linear(x, w))
    prog = await be.compile(plan)                    # (or be.compile_sync natively)
    outs = await prog.run({"x": x_bytes_or_array})  # {"y": bytes}; prog.run_arrays gives numpy arrays
"""
import weakref

import numpy as np

from .. import quant
from ..ops import argmax, attention, copy, elementwise, embedding, linear, matmul, norm, pooling, rotary, softmax
from .backend import Backend
from .plan import Plan
from .tensor import ITEMSIZE, Storage, Tensor, Weight

NP_DTYPES = {"f32": np.float32, "i32": np.int32, "u32": np.uint32}


def _flat(data, dtype: str, n: int) -> np.ndarray:
    """Host data (bytes, array.array, numpy, nested lists) as a flat numpy array of n values."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(bytes(data), NP_DTYPES[dtype])
    else:
        arr = np.asarray(data)
        if arr.dtype.kind == "V" or arr.dtype.itemsize != 4 and arr.dtype.kind not in "fiu":
            raise ValueError(f"cannot read {type(data).__name__} as {dtype}")
        arr = arr.astype(NP_DTYPES[dtype]).reshape(-1)
    if arr.size != n:
        raise ValueError(f"expected {n} {dtype} values, got {arr.size}")
    return arr.copy()


class NumpyBackend(Backend):
    name = "numpy"

    def __init__(self):
        self._dense = weakref.WeakKeyDictionary()  # Weight -> dequantized float32 [N, K], made once

    def describe(self) -> dict:
        return {"backend": self.name, "adapter": None, "software_adapter": None, "linear_variant": "reference",
                "f16_weights": "numpy"}

    # ---- weights and constants (identical signatures on every backend) ----
    def constant(self, name: str, shape, dtype: str = "f32", data=None) -> Tensor:
        """A device-resident tensor (bias, norm gains, embedding tables); data may come later via write()."""
        n = int(np.prod(shape)) if len(shape) else 1
        t = Tensor(Storage(n * ITEMSIZE[dtype], "weight", name, backend=self), shape, dtype)
        t.storage.handle = np.zeros(n, NP_DTYPES[dtype]) if data is None else _flat(data, dtype, n)
        return t

    def write(self, t: Tensor, data) -> None:
        """Fill a constant (or a packed weight's words/scales) with host data."""
        t.storage.handle = _flat(data, t.dtype, t.storage.nbytes // ITEMSIZE[t.dtype])
        self._dense.clear()

    def compile_sync(self, plan: Plan) -> "NumpyProgram":
        return NumpyProgram(self, plan)

    async def compile(self, plan: Plan) -> "NumpyProgram":
        return self.compile_sync(plan)

    def dense(self, w: Weight) -> np.ndarray:
        if w not in self._dense:
            s = w.scales.storage.handle if w.scales is not None else None
            self._dense[w] = quant.unpack(w.words.storage.handle, s, w.dtype, w.N, w.K)
        return self._dense[w]


def view(store: dict, t: Tensor) -> np.ndarray:
    """The numpy view a Tensor describes over its storage's flat array."""
    flat = t.storage.handle if t.storage.kind == "weight" else store[t.storage]
    item = flat.itemsize
    return np.lib.stride_tricks.as_strided(flat[t.offset:], t.shape, tuple(s * item for s in t.strides),
                                           writeable=False)


def execute(be: NumpyBackend, node, get) -> np.ndarray:
    """One node through its op's reference. `get(t)` gives the numpy value of an input Tensor."""
    i, p, op = node.inputs, node.params, node.op
    opt = lambda t: None if t is None else get(t)  # noqa: E731
    if op == "linear":
        return linear.reference(get(i["x"]), be.dense(i["w"]), opt(i["bias"]), p["act"], opt(i["residual"]))
    if op == "matmul":
        return matmul.batched_reference(get(i["a"]), get(i["b"]), p["transpose_b"])
    if op in ("add", "mul"):
        return elementwise.reference(get(i["a"]), get(i["b"]), op)
    if op == "layer_norm":
        return norm.layer_norm(get(i["x"]), get(i["gamma"]), get(i["beta"]), p["eps"])
    if op == "rms_norm":
        return norm.rms_norm(get(i["x"]), get(i["gamma"]), p["eps"])
    if op == "l2_normalize":
        return norm.l2_normalize(get(i["x"]), p["eps"])
    if op == "softmax":
        return softmax.reference(get(i["x"]), opt(i["mask"]), p["scale"])
    if op == "embedding":
        return embedding.reference(get(i["ids"]), get(i["table"]), opt(i["pos_table"]), opt(i["type_ids"]),
                                   opt(i["type_table"]), p["pos_offset"])
    if op == "attention":
        return attention.reference(get(i["q"]), get(i["k"]), get(i["v"]), opt(i["key_mask"]), p["causal"], p["scale"])
    if op == "rotary":
        return rotary.reference(get(i["x"]), p["theta"], p["pos_offset"], p["rotary_dim"])
    if op == "mean_pool":
        return pooling.reference(get(i["x"]), get(i["mask"]))
    if op == "argmax":
        return argmax.reference(get(i["x"]))
    if op == "copy":
        return copy.reference(get(i["x"]))
    if op == "concat":
        return copy.concat_reference([get(x) for x in i["xs"]], p["axis"])
    raise NotImplementedError(f"the numpy backend has no op {op!r}")


class NumpyProgram:
    """A compiled plan: run() executes every node in order with the references."""

    def __init__(self, backend: NumpyBackend, plan: Plan):
        self.backend, self.plan = backend, plan

    def run_arrays(self, inputs: dict) -> dict:
        missing = set(self.plan.inputs) - set(inputs)
        if missing:
            raise ValueError(f"plan {self.plan.name!r} needs inputs {sorted(missing)}")
        store = {}
        for name, t in self.plan.inputs.items():
            store[t.storage] = _flat(inputs[name], t.dtype, t.numel)
        for node in self.plan.nodes:
            out = np.asarray(execute(self.backend, node, lambda t: view(store, t)), NP_DTYPES[node.out.dtype])
            store[node.out.storage] = np.ascontiguousarray(out).reshape(-1)
        return {name: view(store, t).copy() for name, t in self.plan.outputs.items()}

    async def run(self, inputs: dict) -> dict:
        """{output name: bytes}, the same type the WebGPU backend returns."""
        return {k: v.tobytes() for k, v in self.run_arrays(inputs).items()}

    def release(self) -> None:
        pass
