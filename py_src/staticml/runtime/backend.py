"""What every backend shares: matmul weights built from `constant()` in the quant.py layout.

A backend subclasses `Backend` and provides `constant(name, shape, dtype, data)`, `write`, `compile`
(and may override `finish_weight`)."""
from .. import quant
from .tensor import Weight


class Backend:
    def packed_weight(self, name: str, dtype: str, N: int, K: int, words=None, scales=None) -> Weight:
        """A matmul weight already packed in the quant.py layout (what the converter writes)."""
        w_t = self.constant(f"{name}.words", (N, quant.row_words(dtype, K)), "u32", words)
        s_shape = {"q8": (N,), "q4": (N, quant.groups(K))}.get(dtype)
        s_t = self.constant(f"{name}.scales", s_shape, "f32", scales) if s_shape else None
        return self.finish_weight(Weight(dtype, N, K, w_t, s_t))

    def finish_weight(self, w: Weight) -> Weight:
        """A backend's last step for a matmul weight in the quant.py layout (the CPU backend repacks f32)."""
        return w

    def weight(self, name: str, w, dtype: str = "f32") -> Weight:
        """Quantize a float [N, K] matrix (PyTorch Linear layout) into `dtype` here (quant.pack needs numpy:
        natively, or a Pyodide that has it)."""
        words, scales = quant.pack(w, dtype)
        return self.packed_weight(name, dtype, len(w), len(w[0]), words, scales)
