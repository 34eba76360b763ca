"""ModelWeights: a model's tensors by checkpoint name, made once on a backend from a weight source.

A source answers `names()` and `array(name)` (float numpy natively) or, in the browser, hands over
tensors already uploaded to the GPU. Linear weights are quantized to `dtype` when the source holds
floats, or used as packed when the source is a converted model.
"""


class ModelWeights:
    def __init__(self, backend, source, dtype: str = "f32"):
        self.backend, self.source, self.dtype = backend, source, dtype
        names = set(source.names())
        # Some checkpoints nest the encoder under "bert." (BertModel inside a task head).
        self.prefix = "bert." if "bert.embeddings.word_embeddings.weight" in names else ""
        self._cache: dict = {}

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def table(self, name: str):
        """A 2-D f32 tensor (embedding tables)."""
        return self._get(name, lambda: self.source.constant(self.backend, self.prefix + name))

    vector = table  # biases and norm gains are f32 constants too

    def linear(self, prefix: str):
        """(Weight [N, K] in self.dtype, bias [N] or None) of a Linear layer."""
        name = self.prefix + prefix
        return self._get(prefix, lambda: (self.source.weight(self.backend, name + ".weight", self.dtype),
                                          self.source.constant(self.backend, name + ".bias")
                                          if name + ".bias" in self.source.names() else None))

    def fused_linear(self, prefixes: list[str]):
        """(Weight [N1 + N2 + ..., K], bias or None) of Linear layers that read the same input, their output
        rows in the order given, or None where the source cannot hand them over as one (a shipped model
        whose loader did not place them side by side: staticml.weights.fused_groups); then use linear()."""
        names = [self.prefix + p for p in prefixes]
        return self._get(tuple(prefixes), lambda: self.source.fused_linear(self.backend, names, self.dtype))


class ArraySource:
    """Float arrays by name (natively: a safetensors file or a dict), quantized on the way in."""

    def __init__(self, arrays: dict):
        self.arrays = arrays

    @classmethod
    def from_safetensors(cls, path) -> "ArraySource":
        from safetensors.numpy import load_file

        return cls(load_file(str(path)))

    def names(self):
        return self.arrays.keys()

    def constant(self, backend, name: str):
        a = self.arrays[name]
        return backend.constant(name, a.shape, "f32", a.astype("float32"))

    def weight(self, backend, name: str, dtype: str):
        return backend.weight(name, self.arrays[name], dtype)

    def fused_linear(self, backend, prefixes: list[str], dtype: str):
        """Rows of the Linear weights stacked, quantized per row as each alone would be (q8 / q4 scales are
        per row), and their biases stacked; None if only some have a bias or their K differ."""
        import numpy as np

        ws = [self.arrays[p + ".weight"] for p in prefixes]
        has_bias = [p + ".bias" in self.arrays for p in prefixes]
        if len({w.shape[1] for w in ws}) != 1 or len(set(has_bias)) != 1:
            return None
        name = "+".join(prefixes)
        bias = (backend.constant(name + ".bias", (sum(len(w) for w in ws),), "f32",
                                 np.concatenate([self.arrays[p + ".bias"] for p in prefixes]).astype("float32"))
                if has_bias[0] else None)
        return backend.weight(name + ".weight", np.concatenate(ws), dtype), bias


class LoadedTensorSource:
    """Tensors the model loader already put in GPU buffers or wasm memory (staticml.weights.load), by manifest name:
    {name: {buffer, offset, nbytes, dtype, shape[, quant]}}. The stored dtype is what runs."""

    def __init__(self, tensors: dict):
        self.tensors = tensors
        self._sharing: dict = {}   # buffer -> how many tensors the loader placed in it
        for e in tensors.values():
            self._sharing[e["buffer"]] = self._sharing.get(e["buffer"], 0) + 1

    def names(self):
        return self.tensors.keys()

    def _entry(self, name: str) -> dict:
        """A tensor that has a buffer of its own (the ones read one by one: constant(), weight())."""
        if name not in self.tensors:
            raise KeyError(f"the model has no tensor {name!r}; was it converted from another architecture?")
        if self._sharing[self.tensors[name]["buffer"]] > 1:
            raise ValueError(f"{name} was loaded into one buffer with its sibling layers "
                             "(staticml.weights.fused_groups); read them together with fused_linear()")
        return self.tensors[name]

    def constant(self, backend, name: str):
        e = self._entry(name)
        if e["dtype"] != "f32":
            raise ValueError(f"{name} is stored as {e['dtype']}, the runtime reads it as f32; convert the model again")
        return backend.adopt(name, tuple(e["shape"]), "f32", e["buffer"])

    def weight(self, backend, name: str, dtype: str):
        e = self._entry(name)
        scales = None
        if e["dtype"] in ("q8", "q4"):
            s = self._entry(e["quant"]["scales"])
            scales = (e["quant"]["scales"], tuple(s["shape"]), s["buffer"])
        return self._packed(backend, name, e["dtype"], *e["shape"], e["buffer"], scales)

    @staticmethod
    def _packed(backend, name: str, stored: str, N: int, K: int, buffer, scales):
        """A Weight [N, K] over the words in `buffer`, as stored; scales: (name, shape, buffer) for q8 / q4."""
        from ..quant import row_words
        from ..runtime.tensor import Weight

        if stored == "f16" and K % 2:
            raise ValueError(f"{name}: f16 rows of odd length K={K} are not packed per row; use f32 or q8")
        words = backend.adopt(name + ".words", (N, row_words(stored, K)), "u32", buffer)
        scales_t = backend.adopt(scales[0], scales[1], "f32", scales[2]) if scales else None
        return backend.finish_weight(Weight(stored, N, K, words, scales_t))

    def _one_buffer(self, names: list[str]):
        """(buffer, entries) if one buffer holds exactly these tensors back to back, in this order (what the
        loader does for staticml.weights.fused_groups), else None."""
        entries = [self.tensors.get(n) for n in names]
        if any(e is None for e in entries) or len({e["buffer"] for e in entries}) != 1:
            return None
        offsets = [sum(e["nbytes"] for e in entries[:i]) for i in range(len(entries))]
        if [e["offset"] for e in entries] != offsets:
            return None
        return entries[0]["buffer"], entries

    def fused_linear(self, backend, prefixes: list[str], dtype: str):
        """The Linear weights the loader placed in one buffer, as one Weight [sum N, K] over that buffer (and
        their biases and scales likewise, from their buffers); None if they were not placed so."""
        words = self._one_buffer([p + ".weight" for p in prefixes])
        if words is None:
            return None
        buffer, entries = words
        stored, K, N = entries[0]["dtype"], entries[0]["shape"][1], sum(e["shape"][0] for e in entries)
        name = "+".join(prefixes)
        scales = None
        if stored in ("q8", "q4"):
            s = self._one_buffer([e["quant"]["scales"] for e in entries])
            if s is None:
                return None
            s_shape = (N,) if stored == "q8" else (N, s[1][0]["shape"][1])
            scales = (name + ".scales", s_shape, s[0])
        bias = None
        if any(p + ".bias" in self.tensors for p in prefixes):
            b = self._one_buffer([p + ".bias" for p in prefixes])
            if b is None:
                return None
            bias = backend.adopt(name + ".bias", (N,), "f32", b[0])
        return self._packed(backend, name, stored, N, K, buffer, scales), bias
