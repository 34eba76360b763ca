"""BERT-family encoders (BERT, MiniLM, all-MiniLM-L6-v2, ...), driven by the Hugging Face config.json.

One plan per (batch, padded length) bucket; `BertEncoder.plan(B, T)` records it once and caches it.
Weight names are the checkpoint's own (`encoder.layer.0.attention.self.query.weight`, ...), with
or without a leading `bert.`.
"""
from dataclasses import dataclass

from ..runtime import ops
from ..runtime.plan import Plan

# config.json "hidden_act" -> the fused epilogue of the linear kernels
ACTIVATIONS = {"gelu": "gelu_erf", "gelu_python": "gelu_erf", "gelu_new": "gelu_tanh",
               "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu", "silu": "silu", "swish": "silu"}


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    act: str

    @classmethod
    def from_hf(cls, cfg: dict) -> "BertConfig":
        kind = cfg.get("model_type")
        if kind != "bert":
            raise ValueError(f"BertEncoder runs model_type 'bert' (BERT, MiniLM), not {kind!r}")
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"position_embedding_type {cfg['position_embedding_type']!r} is not supported (absolute only)")
        act = cfg.get("hidden_act", "gelu")
        if act not in ACTIVATIONS:
            raise ValueError(f"hidden_act {act!r} is not supported; staticml has {sorted(ACTIVATIONS)}")
        if cfg["hidden_size"] % cfg["num_attention_heads"]:
            raise ValueError("hidden_size must be a multiple of num_attention_heads")
        return cls(cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"],
                   cfg["intermediate_size"], cfg["max_position_embeddings"], cfg.get("type_vocab_size", 2),
                   float(cfg.get("layer_norm_eps", 1e-12)), ACTIVATIONS[act])


class BertEncoder:
    """Token ids -> one pooled (optionally L2-normalised) embedding per sequence."""

    def __init__(self, config: BertConfig, weights, pooling: str = "mean", normalize: bool = True):
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling {pooling!r} is not supported; use 'mean' or 'cls'")
        self.config, self.w, self.pooling, self.normalize = config, weights, pooling, normalize
        self._plans: dict[tuple[int, int], Plan] = {}

    def plan(self, B: int, T: int, cache: bool = True) -> Plan:
        """The forward pass for a [B, T] batch, recorded once per shape (cache=False: not kept here)."""
        if T > self.config.max_positions:
            raise ValueError(f"{T} tokens is more than the model's {self.config.max_positions} positions")
        if not cache:
            return self._plans.get((B, T)) or self._record(B, T)
        if (B, T) not in self._plans:
            self._plans[(B, T)] = self._record(B, T)
        return self._plans[(B, T)]

    def _record(self, B: int, T: int) -> Plan:
        cfg, w = self.config, self.w
        C, H = cfg.hidden_size, cfg.num_heads
        D = C // H                                                        # head size
        plan = Plan(f"bert_{B}x{T}")
        ids = plan.input("input_ids", (B, T), "i32")
        types = plan.input("token_type_ids", (B, T), "i32")
        mask = plan.input("attention_mask", (B, T))                       # f32: 1 = token, 0 = padding

        x = ops.embedding(ids, w.table("embeddings.word_embeddings.weight"),
                          w.table("embeddings.position_embeddings.weight"),
                          types, w.table("embeddings.token_type_embeddings.weight"))   # [B, T, C]
        x = self._norm(x, "embeddings.LayerNorm")
        for i in range(cfg.num_layers):
            p = f"encoder.layer.{i}."
            q, k, v = self._qkv(x, p + "attention.self.", B, T, H, D)     # each [B, T, H, D]
            a = ops.attention(q, k, v, key_mask=mask).reshape(B, T, C)   # [B, T, H, D] -> [B, T, C]
            x = self._norm(self._linear(a, p + "attention.output.dense", residual=x), p + "attention.output.LayerNorm")
            h = self._linear(x, p + "intermediate.dense", act=cfg.act)    # [B, T, 4C]
            x = self._norm(self._linear(h, p + "output.dense", residual=x), p + "output.LayerNorm")

        if self.pooling == "mean":
            pooled = ops.mean_pool(x, mask)                               # [B, C]
        else:
            pooled = ops.contiguous(x.slice(1, 0, 1)).reshape(B, C)      # the [CLS] token
        plan.output("embeddings", ops.l2_normalize(pooled) if self.normalize else pooled)
        return plan

    def _qkv(self, x, prefix: str, B: int, T: int, H: int, D: int):
        """Query, key and value projections of x [B, T, C]: one matmul into [B, T, 3C] where the weights
        allow it (q, k, v are then views of it: attention reads them strided), else three."""
        names = [prefix + n for n in ("query", "key", "value")]
        fused = self.w.fused_linear(names)
        if fused is None:
            return [self._linear(x, n).reshape(B, T, H, D) for n in names]
        qkv = ops.linear(x, *fused)                                       # [B, T, 3C]
        C = H * D
        return [qkv.slice(2, i * C, (i + 1) * C).unflatten(2, (H, D)) for i in range(3)]

    def _linear(self, x, prefix: str, act: str = "none", residual=None):
        weight, bias = self.w.linear(prefix)
        return ops.linear(x, weight, bias, act=act, residual=residual)

    def _norm(self, x, prefix: str):
        return ops.layer_norm(x, self.w.vector(prefix + ".weight"), self.w.vector(prefix + ".bias"),
                              self.config.layer_norm_eps)
