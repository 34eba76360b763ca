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


class LoadedTensorSource:
    """Tensors the model loader already put in GPU buffers or wasm memory (staticml.weights.load), by manifest name:
    {name: {buffer, offset, nbytes, dtype, shape[, quant]}}. The stored dtype is what runs."""

    def __init__(self, tensors: dict):
        self.tensors = tensors

    def names(self):
        return self.tensors.keys()

    def _entry(self, name: str) -> dict:
        if name not in self.tensors:
            raise KeyError(f"the model has no tensor {name!r}; was it converted from another architecture?")
        return self.tensors[name]

    def constant(self, backend, name: str):
        e = self._entry(name)
        if e["dtype"] != "f32":
            raise ValueError(f"{name} is stored as {e['dtype']}, the runtime reads it as f32; convert the model again")
        return backend.adopt(name, tuple(e["shape"]), "f32", e["buffer"])

    def weight(self, backend, name: str, dtype: str):
        from ..quant import row_words
        from ..runtime.tensor import Weight

        e = self._entry(name)
        N, K = e["shape"]
        stored = e["dtype"]
        if stored == "f16" and K % 2:
            raise ValueError(f"{name}: f16 rows of odd length K={K} are not packed per row; use f32 or q8")
        words = backend.adopt(name + ".words", (N, row_words(stored, K)), "u32", e["buffer"])
        scales = None
        if stored in ("q8", "q4"):
            s = self._entry(e["quant"]["scales"])
            scales = backend.adopt(e["quant"]["scales"], tuple(s["shape"]), "f32", s["buffer"])
        return backend.finish_weight(Weight(stored, N, K, words, scales))
