"""PyTorch reference for the browser benchmark (issue 9): the same MiniLM shapes and inputs on the same GPU.

    python3 bench/torch_cuda_reference.py --model-dir DIR --inputs bench-inputs.json [--out ref.json]

DIR holds the model's config.json and tokenizer.json (all-MiniLM-L6-v2's; the build ships both). The model
is transformers' BertModel built from config.json with random weights (speed does not depend on values),
run in fp32 with TF32 off (torch.backends.cuda.matmul.allow_tf32 = cudnn.allow_tf32 = False, matmul
precision "highest") and in fp16, eager, with the attention implementation transformers picks (recorded).
Scenarios are the browser page's (site/bench.js, inputs from dist/bench-inputs.json): 1 short sentence,
batch 8, batch 32, a ~250-token passage, and throughput at batch 32 / 128 / 512 of a ~128-token passage.
Each is timed at three depths, like staticml.bench.gpu_probe:
    e2e_ms      texts -> L2-normalised mean-pooled embeddings on the host: Rust tokenizer (tokenizers),
                padding to the batch's longest row, host->device copy, forward, pooling, device->host
    forward_ms  token ids already on the host -> embeddings on the host (copies, forward, pooling)
    gpu_ms      CUDA events around forward + pooling + normalisation on device-resident ids
Plus nn.Linear (x @ W^T + b) alone for the model's matmul shapes (M = batch x tokens; K, N from the
config). Times are medians after warm-up, CUDA-synchronised. Prints JSON (and writes it with --out).
Runs on CPU too (--device cpu) for a dry run; the numbers then mean nothing.
"""
import argparse
import json
import platform
import statistics
import time

import torch


def median_ms(fn, reps: int, warmup: int, sync) -> dict:
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return {"median_ms": round(statistics.median(times), 4), "min_ms": round(times[0], 4),
            "p90_ms": round(times[min(len(times) - 1, int(0.9 * len(times)))], 4), "n": reps}


def event_ms(fn, reps: int, warmup: int, device) -> dict:
    """Median GPU time of fn() from CUDA events (host clock on CPU)."""
    if device.type != "cuda":
        return median_ms(fn, reps, warmup, lambda: None)
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return {"median_ms": round(statistics.median(times), 4), "min_ms": round(times[0], 4),
            "p90_ms": round(times[min(len(times) - 1, int(0.9 * len(times)))], 4), "n": reps}


class Embedder:
    """sentence-transformers' all-MiniLM-L6-v2 pipeline: tokenize, BertModel, mean pooling, L2 normalise."""

    def __init__(self, model, tokenizer, device, max_length: int = 256):
        self.model, self.tok, self.device = model, tokenizer, device
        self.tok.no_padding()
        self.tok.enable_truncation(max_length)

    def tokenize(self, texts):
        enc = self.tok.encode_batch(texts)
        T = max(len(e.ids) for e in enc)
        ids = torch.zeros((len(texts), T), dtype=torch.long)
        mask = torch.zeros((len(texts), T), dtype=torch.long)
        for i, e in enumerate(enc):
            ids[i, :len(e.ids)] = torch.tensor(e.ids)
            mask[i, :len(e.ids)] = 1
        return ids, mask

    @torch.inference_mode()
    def on_device(self, ids, mask):
        h = self.model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    def forward(self, ids, mask):
        return self.on_device(ids.to(self.device, non_blocking=True), mask.to(self.device, non_blocking=True)).cpu()

    def e2e(self, texts):
        return self.forward(*self.tokenize(texts))


def scenarios(inputs: dict) -> dict:
    return {"short_1": [inputs["short"]], "batch_8": inputs["batch_8"], "batch_32": inputs["batch_32"],
            "passage_250": [inputs["passage_250"]]}


def time_case(emb: Embedder, texts, n: int, device) -> dict:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    ids, mask = emb.tokenize(texts)
    d_ids, d_mask = ids.to(device), mask.to(device)
    row = {"B": ids.shape[0], "T": ids.shape[1], "tokens": int(mask.sum()),
           "e2e": median_ms(lambda: emb.e2e(texts), n, 3, sync),
           "tokenize": median_ms(lambda: emb.tokenize(texts), n, 1, lambda: None),
           "forward": median_ms(lambda: emb.forward(ids, mask), n, 3, sync),
           "gpu": event_ms(lambda: emb.on_device(d_ids, d_mask), n, 3, device)}
    for k in ("e2e", "forward", "gpu"):
        row[f"{k}_sentences_per_s"] = round(len(texts) / (row[k]["median_ms"] / 1e3), 1)
    return row


def run_dtype(emb: Embedder, inputs: dict, reps: int, tp_reps: int, sizes, device) -> dict:
    return {"latency": {name: time_case(emb, texts, reps, device) for name, texts in scenarios(inputs).items()},
            "throughput": {f"batch_{b}": time_case(emb, [inputs["throughput_128"]] * b, tp_reps, device) for b in sizes}}


def linear_shapes(cfg: dict, Ms) -> list:
    C, F = cfg["hidden_size"], cfg["intermediate_size"]
    return [(M, K, N) for M in Ms for K, N in ((C, C), (C, F), (F, C))]


@torch.inference_mode()
def time_linears(shapes, dtype, device, reps: int) -> list:
    rows = []
    for M, K, N in shapes:
        lin = torch.nn.Linear(K, N, device=device, dtype=dtype)
        xs = [torch.randn(M, K, device=device, dtype=dtype) for _ in range(3)]  # rotate inputs: no cache reuse
        i = [0]

        def step():
            i[0] += 1
            return lin(xs[i[0] % 3])

        t = event_ms(step, reps, 5, device)
        rows.append({"M": M, "K": K, "N": N, "dtype": str(dtype).replace("torch.", ""), **t,
                     "tflops": round(2 * M * K * N / (t["median_ms"] / 1e3) / 1e12, 2)})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-dir", required=True, help="folder with config.json and tokenizer.json")
    ap.add_argument("--inputs", required=True, help="bench-inputs.json (dist/ has it)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--tp-reps", type=int, default=10)
    ap.add_argument("--sizes", default="32,128,512")
    ap.add_argument("--linear-m", default="16,1024,4096,16384,65536", help="M values (batch x tokens) for nn.Linear")
    ap.add_argument("--max-length", type=int, default=256, help="truncation (all-MiniLM-L6-v2's max_seq_length)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtypes", default="fp32,fp16")
    a = ap.parse_args(argv)

    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel
    import transformers

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = torch.device(a.device)
    cfg = json.load(open(f"{a.model_dir}/config.json"))
    inputs = json.load(open(a.inputs))
    sizes = [int(s) for s in a.sizes.split(",") if s]
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "torch": torch.__version__,
              "transformers": transformers.__version__, "python": platform.python_version(), "device": str(device),
              "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
              "weights": "random (BertModel(config) init, seed 0)", "dtypes": {}, "linear": {}}
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        result["gpu"] = {"name": p.name, "sm_count": p.multi_processor_count, "memory_gib": round(p.total_memory / 2**30, 1),
                         "cuda": torch.version.cuda}
    torch.manual_seed(0)
    base = BertModel(BertConfig(**cfg), add_pooling_layer=False).eval()
    for name in a.dtypes.split(","):
        dtype = {"fp32": torch.float32, "fp16": torch.float16}[name]
        model = BertModel(BertConfig(**cfg), add_pooling_layer=False).eval()
        model.load_state_dict(base.state_dict())
        model = model.to(device=device, dtype=dtype)
        emb = Embedder(model, Tokenizer.from_file(f"{a.model_dir}/tokenizer.json"), device,
                       min(a.max_length, cfg["max_position_embeddings"]))
        r = run_dtype(emb, inputs, a.reps, a.tp_reps, sizes, device)
        r["attn_implementation"] = getattr(model.config, "_attn_implementation", None)
        result["dtypes"][name] = r
        shapes = linear_shapes(cfg, [int(m) for m in a.linear_m.split(",") if m])
        result["linear"][name] = time_linears(shapes, dtype, device, a.reps)
        del model, emb
        if device.type == "cuda":
            torch.cuda.empty_cache()
    text = json.dumps(result, indent=1)
    if a.out:
        open(a.out, "w").write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
